/**
 * The ingest floor: the least work any design of this service could do per
 * event on this machine, to tell how far the ingest targets are from what the
 * hardware allows. Per batch it parses each event (JSON.parse: no int64
 * exactness, no validation) and makes one PostgreSQL statement (messages
 * inserted as their raw text, each channel's head upserted once, group members
 * inserted, the checkpoint moved; one commit) and one Redis script run per
 * 1,000 commands, packed as the real applier packs them (ZADD per message, SET
 * per channel, the two sides' stamps per person message; nothing per group
 * member). No reads, no unread or visibility rules, no version clock: what the
 * real applier spends beyond this is the price of those. Used by `npm run
 * bench` (phase 2) and bench/probes/floor-probe.ts.
 */
import { Pool } from 'pg';
import Redis from 'ioredis';
import { channelKeyOf } from '../../libs/domain/src/channel-keys';
import { APPLY_COMMANDS_SCRIPT, FIELD_SEPARATOR, unlinkMatching } from '../../libs/storage/src/redis/redis-layout';
import { OutRecord, partitionBatches } from './traffic';
import { CpuPerEvent, cpuPerEventUs, measureWork } from './rss';

/** Records per batch: what the consumer's fetch sizes give on this traffic. */
export const BATCH_RECORDS = 1_375;

interface ParsedEvent {
  type: string;
  message_seq?: number;
  from_uid?: string;
  channel_id: string;
  channel_type: number;
  subscribers?: string[];
}

export interface FloorResult {
  events: number;
  seconds: number;
  rate: number;
  /** CPU µs per event in this process and the services (Kafka only idles: the records are in memory) */
  cpuPerEventUs: CpuPerEvent;
}

/** Applies `records` the floor way, one partition batch after another, and measures it. */
export async function measureFloor(pool: Pool, redis: Redis, records: OutRecord[]): Promise<FloorResult> {
  await createFloorTables(pool);
  // Values as the consumer receives them from Kafka: bytes.
  const batches = partitionBatches(records, BATCH_RECORDS).map(([partition, batch]) => [partition, batch.map((r) => Buffer.from(r.value))] as const);
  let offset = 0;
  const { seconds, processSeconds, services } = await measureWork(async () => {
    for (const [partition, batch] of batches) await applyFloor(pool, redis, partition, batch, (offset += batch.length));
  });
  return { events: records.length, seconds, rate: records.length / seconds, cpuPerEventUs: cpuPerEventUs(records.length, processSeconds, services) };
}

/** Drops the floor's tables and Redis keys, so later phases run as before it. */
export async function dropFloor(pool: Pool, redis: Redis): Promise<void> {
  await pool.query('DROP TABLE IF EXISTS floor_messages, floor_channels, floor_members, floor_checkpoints');
  await unlinkMatching(redis, 'f:*');
}

async function createFloorTables(pool: Pool): Promise<void> {
  await pool.query(`
    CREATE TABLE IF NOT EXISTS floor_messages (channel_key text, seq bigint, record text, PRIMARY KEY (channel_key, seq));
    CREATE TABLE IF NOT EXISTS floor_channels (channel_key text PRIMARY KEY, latest_seq bigint, head text) WITH (fillfactor = 70);
    CREATE TABLE IF NOT EXISTS floor_members (channel_key text, uid text, PRIMARY KEY (channel_key, uid));
    CREATE TABLE IF NOT EXISTS floor_checkpoints (partition int PRIMARY KEY, next_offset bigint);`);
}

async function applyFloor(pool: Pool, redis: Redis, partition: number, values: Buffer[], nextOffset: number): Promise<void> {
  const message = { keys: [] as string[], seqs: [] as number[], texts: [] as string[] };
  const heads = new Map<string, { seq: number; text: string }>();
  const members = { keys: [] as string[], uids: [] as string[] };
  const commands: string[][] = [];
  for (const value of values) {
    const text = value.toString();
    const event = JSON.parse(text) as ParsedEvent;
    // A person channel is one key from both sides, as in the real store.
    const key = channelKeyOf(event.channel_type, event.from_uid ?? '', event.channel_id);
    if (event.type === 'subscribers_added') {
      for (const uid of event.subscribers ?? []) {
        members.keys.push(key);
        members.uids.push(uid);
      }
      continue;
    }
    const seq = event.message_seq ?? 0;
    message.keys.push(key);
    message.seqs.push(seq);
    message.texts.push(text);
    heads.set(key, { seq, text });
    commands.push(['ZADD', `f:{${key}}:m`, String(seq), text]);
    if (event.channel_type === 1) {
      commands.push(['HSET', `f:{u:${event.from_uid}}`, 'stamp', String(seq)]);
      commands.push(['HSET', `f:{u:${event.channel_id}}`, 'stamp', String(seq)]);
    }
  }
  for (const [key, head] of heads) commands.push(['SET', `f:{${key}}:c`, head.text]);
  const pipeline = redis.pipeline();
  for (let i = 0; i < commands.length; i += 1_000) {
    const fields = commands.slice(i, i + 1_000).flatMap(([name, ...args]) => [name, String(args.length), ...args]);
    pipeline.eval(APPLY_COMMANDS_SCRIPT, 1, 'f:complete', Buffer.from(fields.join(FIELD_SEPARATOR)));
  }
  await Promise.all([
    pool.query(
      `WITH m AS (INSERT INTO floor_messages SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[]) ON CONFLICT DO NOTHING RETURNING 1),
            c AS (INSERT INTO floor_channels SELECT * FROM unnest($4::text[], $5::bigint[], $6::text[])
                  ON CONFLICT (channel_key) DO UPDATE SET latest_seq = EXCLUDED.latest_seq, head = EXCLUDED.head RETURNING 1),
            g AS (INSERT INTO floor_members SELECT * FROM unnest($7::text[], $8::text[]) ON CONFLICT DO NOTHING RETURNING 1)
       INSERT INTO floor_checkpoints VALUES ($9, $10) ON CONFLICT (partition) DO UPDATE SET next_offset = EXCLUDED.next_offset`,
      [message.keys, message.seqs, message.texts, [...heads.keys()], [...heads.values()].map((h) => h.seq), [...heads.values()].map((h) => h.text), members.keys, members.uids, partition, nextOffset],
    ),
    pipeline.exec(),
  ]);
}

