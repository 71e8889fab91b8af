import { Partitioners } from 'kafkajs';
import { channelKeyOf } from '../../libs/domain/src/channel-keys';
import { AppProcess } from '../../test/support/app-process';
import { TestEnvironment, withDatabase } from '../../test/support/test-environment';
import { Progress, log } from '../lib/progress';
import { OwnPhase } from './phase';

/**
 * Storage phase (issue 13): STORAGE_MESSAGES messages into STORAGE_CHANNELS
 * channels (half groups of 5, half person pairs), then as many again into the
 * same channels. With bounded retention the second half replaces messages
 * instead of adding them: Redis memory and the PostgreSQL database (after a
 * plain VACUUM) must grow by less than 10% of the first half's growth.
 * Its own topic, database and Redis db; the consumer runs with the default
 * RECENT_MESSAGES_KEPT.
 */
export const STORAGE_CHANNELS = 2_000;
export const STORAGE_MESSAGES = 200_000;

export interface StorageReading {
  /** Redis INFO used_memory: the whole instance (other databases included). */
  redisUsedMemory: number;
  /** MEMORY USAGE summed over this run's keys: the service's own share. */
  redisKeysMemory: number;
  redisKeys: number;
  postgresDatabaseBytes: number;
  /** pg_total_relation_size (heap, indexes, TOAST) of the tables a message writes. */
  postgresTableBytes: Record<(typeof GROWING_TABLES)[number], number>;
  /** Of postgresTableBytes.messages: its two indexes. */
  messageIndexBytes: number;
  /** Plain VACUUMs of the messages table so far (the consumer's, autovacuum's and this phase's). */
  messageVacuums: number;
  messageRows: number;
}

const GROWING_TABLES = ['messages', 'message_windows', 'conversations', 'conversation_index', 'channels'] as const;

export interface StorageResult {
  channels: number;
  messagesPerHalf: number;
  before: StorageReading;
  afterFirstHalf: StorageReading;
  afterSecondHalf: StorageReading;
  secondHalfGrowthRatio: { redisKeysMemory: number; redisUsedMemory: number; postgresDatabaseBytes: number };
  seconds: number;
}

/** Phase 7, in the full run, or alone: `--only storage`. */
export const storagePhase: OwnPhase<'storage'> = {
  name: 'storage',
  result: 'storage',
  world: 'own',
  inRuns: ['full'],
  run: runStoragePhase,
};

async function runStoragePhase(): Promise<StorageResult> {
  log('\n[7] storage');
  const started = Date.now();
  const env = new TestEnvironment('bench_storage');
  let consumer: AppProcess | undefined;
  try {
    await env.setUp();
    consumer = await AppProcess.start('consumer', env.appEnv());
    const producer = env.kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const channels = Array.from({ length: STORAGE_CHANNELS }, (_, i) => channel(i));
    try {
      await send(producer, env.topic, channels.filter((c) => c.members).map((c) => ({ key: c.key, value: JSON.stringify({ type: 'subscribers_added', channel_id: c.id, channel_type: 2, subscribers: c.members }) })), 'groups');
      await env.waitUntilApplied(600_000);
      const before = await reading(env);
      log(`  before: ${describe(before)}`);
      await sendHalf(producer, env, channels, 0);
      const afterFirstHalf = await reading(env);
      log(`  after half 1: ${describe(afterFirstHalf)}`);
      await sendHalf(producer, env, channels, STORAGE_MESSAGES / STORAGE_CHANNELS);
      const afterSecondHalf = await reading(env);
      log(`  after half 2: ${describe(afterSecondHalf)}`);
      const ratio = (field: 'redisKeysMemory' | 'redisUsedMemory' | 'postgresDatabaseBytes') =>
        round((afterSecondHalf[field] - afterFirstHalf[field]) / Math.max(1, afterFirstHalf[field] - before[field]));
      return {
        channels: STORAGE_CHANNELS,
        messagesPerHalf: STORAGE_MESSAGES,
        before,
        afterFirstHalf,
        afterSecondHalf,
        secondHalfGrowthRatio: { redisKeysMemory: ratio('redisKeysMemory'), redisUsedMemory: ratio('redisUsedMemory'), postgresDatabaseBytes: ratio('postgresDatabaseBytes') },
        seconds: Math.round((Date.now() - started) / 1000),
      };
    } finally {
      await producer.disconnect();
    }
  } finally {
    await consumer?.stop().catch(() => undefined);
    await env.tearDown().catch((error) => log(`storage tear-down: ${String(error)}`));
  }
}

interface BenchChannel {
  key: string;
  id: string;
  type: number;
  members: string[] | null;
  from: string[];
}

/** Even channels are groups of 5, odd ones person pairs, over 4,000 users. */
function channel(i: number): BenchChannel {
  const user = (n: number) => `su${n % 4_000}`;
  if (i % 2 === 0) {
    const members = [0, 1, 2, 3, 4].map((k) => user(i + k * 811));
    return { key: channelKeyOf(2, '', `sg${i}`), id: `sg${i}`, type: 2, members, from: members };
  }
  const [a, b] = [user(i), user(i + 1_999)];
  return { key: channelKeyOf(1, a, b), id: b, type: 1, members: null, from: [a] };
}

async function sendHalf(producer: ReturnType<TestEnvironment['kafka']['producer']>, env: TestEnvironment, channels: BenchChannel[], firstSeqOffset: number): Promise<void> {
  const perChannel = STORAGE_MESSAGES / STORAGE_CHANNELS;
  const records: { key: string; value: string }[] = [];
  for (let n = 1; n <= perChannel; n++) {
    for (const [i, c] of channels.entries()) {
      const seq = firstSeqOffset + n;
      const from = c.from[seq % c.from.length];
      const value =
        `{"type":"message","message_id":"${1_900_000_000_000_000_000n + BigInt(i * 1_000 + seq)}","message_seq":${seq},"client_msg_no":"s${seq}",` +
        `"from_uid":"${from}","channel_id":"${c.id}","channel_type":${c.type},"timestamp":${1_764_000_000 + seq},"payload":"${PAYLOAD}"}`;
      records.push({ key: c.key, value });
    }
  }
  await send(producer, env.topic, records, `half (seqs ${firstSeqOffset + 1}..${firstSeqOffset + perChannel})`);
  await env.waitUntilApplied(900_000);
}

/** About a short chat line, base64. */
const PAYLOAD = Buffer.from('a short chat message of about sixty bytes, like most of them').toString('base64');

async function send(producer: ReturnType<TestEnvironment['kafka']['producer']>, topic: string, records: { key: string; value: string }[], label: string): Promise<void> {
  const bar = new Progress(`  produce ${label}`, records.length, ' records');
  for (let i = 0; i < records.length; i += 2_000) {
    await producer.send({ topic, acks: -1, messages: records.slice(i, i + 2_000) });
    bar.update(Math.min(records.length, i + 2_000));
  }
  bar.done();
}

async function reading(env: TestEnvironment): Promise<StorageReading> {
  const postgres = await withDatabase(env.databaseUrl, async (db) => {
    await db.query('VACUUM');
    const size = await db.query<{ bytes: string; rows: string; tables: Record<string, string>; indexes: string; vacuums: string }>(
      `SELECT pg_database_size(current_database())::text AS bytes, (SELECT count(*) FROM messages)::text AS rows,
              pg_indexes_size('messages')::text AS indexes,
              (SELECT (vacuum_count + autovacuum_count)::text FROM pg_stat_user_tables WHERE relname = 'messages') AS vacuums,
              (SELECT json_object_agg(t, pg_total_relation_size(t::regclass)::text) FROM unnest($1::text[]) AS t) AS tables`,
      [GROWING_TABLES],
    );
    const [row] = size.rows;
    const tables = Object.fromEntries(GROWING_TABLES.map((t) => [t, Number(row.tables[t])])) as StorageReading['postgresTableBytes'];
    return {
      postgresDatabaseBytes: Number(row.bytes),
      postgresTableBytes: tables,
      messageIndexBytes: Number(row.indexes),
      messageVacuums: Number(row.vacuums),
      messageRows: Number(row.rows),
    };
  });
  const info = await env.redis.info('memory');
  const redisUsedMemory = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
  let redisKeysMemory = 0;
  let redisKeys = 0;
  let cursor = '0';
  do {
    const [next, keys] = await env.redis.scan(cursor, 'MATCH', 'cs:*', 'COUNT', 1_000);
    const usage = await Promise.all(keys.map((key) => env.redis.memory('USAGE', key, 'SAMPLES', '0')));
    redisKeysMemory += usage.reduce<number>((sum, bytes) => sum + Number(bytes ?? 0), 0);
    redisKeys += keys.length;
    cursor = next;
  } while (cursor !== '0');
  return { redisUsedMemory, redisKeysMemory, redisKeys, ...postgres };
}

function describe(r: StorageReading): string {
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `Redis keys ${mb(r.redisKeysMemory)} (${r.redisKeys} keys; instance ${mb(r.redisUsedMemory)}), PostgreSQL ${mb(r.postgresDatabaseBytes)} (${r.messageRows} message rows, ${r.messageVacuums} vacuums; message indexes ${mb(r.messageIndexBytes)}; ${GROWING_TABLES.map((t) => `${t} ${mb(r.postgresTableBytes[t])}`).join(', ')})`;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
