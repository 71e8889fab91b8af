import { Partitioners, Producer } from 'kafkajs';
import { channelKeyOf } from '../../libs/domain/src/channel-keys';
import { parseExactJson } from '../../libs/json/src';
import { AppProcess } from '../../test/support/app-process';
import { TestEnvironment } from '../../test/support/test-environment';
import { percentiles } from '../lib/consumer-metrics';
import { Progress, log } from '../lib/progress';
import { OwnPhase } from './phase';

/**
 * Large-account phase (issue 13): a user with LARGE_PERSONS person
 * conversations and LARGE_GROUPS groups beside a user with SMALL_PERSONS +
 * SMALL_GROUPS, in the same run and the same database. Seeded through Kafka
 * and the real consumer (the write path every conversation takes, indexes
 * and fan-out included), in batches of 2,000 records. Of each user's groups,
 * one in a hundred has more than SMALL_GROUP_MAX_MEMBERS members (a large
 * group, read per sync), the others 5. Then, per user, alternating:
 * - an uncached page 1 (page_size 100, msg_count 1; the API's answer cache is
 *   off, ANSWER_CACHE_BYTES=0), REQUESTS times;
 * - one new person message to the user, then an incremental sync from the
 *   highest version before it (answer: that conversation), REQUESTS times.
 * Latencies are per request, sent one at a time from this process.
 * Target: the large account's p50 and p99 within 1.5× the small one's.
 */
export const LARGE_PERSONS = 99_000;
export const LARGE_GROUPS = 1_000;
const SMALL_PERSONS = 99;
const SMALL_GROUPS = 1;
/** Enough that the p99 is not one sample: at 60 it was the slowest request, and one scheduling stall decided it. */
const REQUESTS = 200;
const LARGE_GROUP_MEMBERS = 250;

export interface LatencySummary {
  p50: number;
  p99: number;
  count: number;
}

export interface LargeAccountResult {
  conversations: { large: number; small: number };
  seedSeconds: number;
  seedEvents: number;
  page1: { large: LatencySummary; small: LatencySummary };
  incremental: { large: LatencySummary; small: LatencySummary };
  seconds: number;
}

/** In the full run, or alone: `--only large-account`. */
export const largeAccountPhase: OwnPhase<'largeAccount'> = {
  name: 'large-account',
  result: 'largeAccount',
  world: 'own',
  inRuns: ['full'],
  run: runLargeAccountPhase,
};

async function runLargeAccountPhase(): Promise<LargeAccountResult> {
  log('\n[9] large account');
  const started = Date.now();
  const env = new TestEnvironment('bench_large_account');
  const apps: AppProcess[] = [];
  try {
    await env.setUp();
    apps.push(await AppProcess.start('consumer', env.appEnv()));
    apps.push(await AppProcess.start('api', env.appEnv({ ANSWER_CACHE_BYTES: '0' })));
    const api = apps[1];
    const producer = env.kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const seedStarted = Date.now();
    let seedEvents = 0;
    let seq = 0;
    try {
      for (const [uid, persons, groups] of [['la-large', LARGE_PERSONS, LARGE_GROUPS], ['la-small', SMALL_PERSONS, SMALL_GROUPS]] as const) {
        seedEvents += await send(producer, env.topic, seedRecords(uid, persons, groups, () => ++seq), `${uid} conversations`);
      }
      await env.waitUntilApplied(1_800_000);
      const seedSeconds = (Date.now() - seedStarted) / 1000;
      log(`  seeded ${seedEvents} events in ${seedSeconds.toFixed(1)} s`);
      const sync = (body: object) => timedSync(api.url, body);
      const page1 = { large: [] as number[], small: [] as number[] };
      const incremental = { large: [] as number[], small: [] as number[] };
      const counts = { large: 0, small: 0 };
      for (const who of ['large', 'small'] as const) counts[who] = (await sync({ uid: `la-${who}`, msg_count: 0 })).answer.length;
      // Warm-up: the first requests of each kind pay for connections and JIT.
      for (const who of ['large', 'small'] as const) for (let i = 0; i < 5; i++) await sync({ uid: `la-${who}`, page: 1, page_size: 100, msg_count: 1 });
      const bar = new Progress('  requests', REQUESTS * 4, '');
      for (let i = 0; i < REQUESTS; i++) {
        for (const who of ['large', 'small'] as const) {
          const uid = `la-${who}`;
          const page = await sync({ uid, page: 1, page_size: 100, msg_count: 1 });
          if (page.answer.length !== 100) throw new Error(`page 1 of ${uid} has ${page.answer.length} entries`);
          page1[who].push(page.ms);
          const highest = page.answer.reduce((max: bigint, c: { version: bigint }) => (c.version > max ? c.version : max), 0n);
          await env.produceAndWait(channelKeyOf(1, uid, `${uid}-new`), personMessage(`${uid}-new`, uid, ++seq));
          const changed = await sync({ uid, version: highest.toString(), msg_count: 1 });
          if (changed.answer.length !== 1) throw new Error(`incremental sync of ${uid} has ${changed.answer.length} entries, expected 1`);
          incremental[who].push(changed.ms);
          bar.update(i * 4 + 4);
        }
      }
      bar.done();
      return {
        conversations: counts,
        seedSeconds,
        seedEvents,
        page1: { large: summary(page1.large), small: summary(page1.small) },
        incremental: { large: summary(incremental.large), small: summary(incremental.small) },
        seconds: (Date.now() - started) / 1000,
      };
    } finally {
      await producer.disconnect();
    }
  } finally {
    for (const app of apps.reverse()) await app.stop();
    await env.tearDown();
  }
}

/** Person conversations with `persons` peers; groups of 5 (one in 100 with LARGE_GROUP_MEMBERS); a message in each. */
function seedRecords(uid: string, persons: number, groups: number, nextSeq: () => number): { key: string; value: string }[] {
  const records: { key: string; value: string }[] = [];
  for (let i = 0; i < groups; i++) {
    const id = `${uid}-g${i}`;
    const size = i % 100 === 99 || groups === 1 ? LARGE_GROUP_MEMBERS : 5;
    const subscribers = [uid, ...Array.from({ length: size - 1 }, (_, m) => `${id}-m${m}`)];
    const key = channelKeyOf(2, uid, id);
    records.push({ key, value: JSON.stringify({ type: 'subscribers_added', channel_id: id, channel_type: 2, subscribers }) });
    records.push({ key, value: JSON.stringify({ ...messageFields(subscribers[1], id, 2, nextSeq()) }) });
  }
  for (let i = 0; i < persons; i++) {
    const peer = `${uid}-p${i}`;
    records.push({ key: channelKeyOf(1, uid, peer), value: JSON.stringify(personMessage(peer, uid, nextSeq())) });
  }
  return records;
}

function personMessage(from: string, to: string, seq: number) {
  return messageFields(from, to, 1, seq);
}

/** Timestamps spread over the seeded conversations, so the page is a real top 100 of many. */
function messageFields(from: string, channelId: string, channelType: number, seq: number) {
  return {
    type: 'message',
    message_id: `${9_000_000_000_000_000_000n + BigInt(seq)}`,
    message_seq: seq,
    from_uid: from,
    channel_id: channelId,
    channel_type: channelType,
    timestamp: 1_700_000_000 + seq,
    payload: Buffer.from(`message ${seq}`).toString('base64'),
  };
}

async function send(producer: Producer, topic: string, records: { key: string; value: string }[], label: string): Promise<number> {
  const bar = new Progress(`  produce ${label}`, records.length, ' records');
  for (let i = 0; i < records.length; i += 2_000) {
    await producer.send({ topic, acks: -1, messages: records.slice(i, i + 2_000) });
    bar.update(Math.min(records.length, i + 2_000));
  }
  bar.done();
  return records.length;
}

async function timedSync(url: string, body: object): Promise<{ ms: number; answer: any[] }> {
  const started = process.hrtime.bigint();
  const response = await fetch(`${url}/conversation/sync`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (response.status !== 200) throw new Error(`sync answered ${response.status}: ${text}`);
  return { ms, answer: parseExactJson(text) as any[] };
}

function summary(values: number[]): LatencySummary {
  const { p50, p99 } = percentiles(values) ?? { p50: NaN, p99: NaN };
  return { p50: round(p50), p99: round(p99), count: values.length };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
