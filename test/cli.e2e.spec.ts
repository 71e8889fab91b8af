import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Admin, IHeaders, KafkaMessage, Partitioners, Producer } from 'kafkajs';
import { channelKeyOf, wholeProjectionState, evolve, keptNewMessages } from '@cs/domain';
import { EventPublisher } from '@cs/events';
import { redisKeys } from '@cs/storage';
import { generateTraffic } from '../apps/cli/src/traffic';
import { AppProcess, RunningService } from './support/app-process';
import { parseExactJson } from './support/json';
import { TestEnvironment, withDatabase } from './support/test-environment';
import { waitFor } from './support/wait-for';

const CLI = join(__dirname, '..', 'dist', 'apps', 'cli', 'main.js');

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as operators do, with the apps' environment variables. */
function cli(args: string[], env: Record<string, string>, timeoutMs = 90_000): Promise<CliRun> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** stdout split in lines, failing with the whole output when the exit status is not `code`. */
function linesOf(run: CliRun, code = 0): string[] {
  if (run.code !== code) throw new Error(`exit ${run.code}, expected ${code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`);
  return run.stdout.trimEnd().split('\n');
}

/** The projection rows, without versions (a replay hands out new ones). */
function projectionSnapshot(databaseUrl: string) {
  return withDatabase(databaseUrl, async (db) => ({
    channels: (await db.query('SELECT channel_key, channel_type, latest_seq, broadcast_head FROM channels ORDER BY channel_key')).rows,
    conversations: (
      await db.query(
        `SELECT uid, channel_key, channel_id, channel_type, floor, read_seq, own_seq, direct_head, membership, frozen_head,
                left_version IS NOT NULL AS has_left, cleared_version IS NOT NULL AS was_cleared
           FROM conversations ORDER BY uid, channel_key`,
      )
    ).rows,
    messages: (await db.query('SELECT channel_key, lane, seq, message_id, from_uid, timestamp, client_msg_no, recipients, body FROM messages ORDER BY channel_key, lane, seq')).rows,
    windows: (await db.query('SELECT channel_key, lane, kept_seqs, dropped_up_to FROM message_windows ORDER BY channel_key, lane')).rows,
  }));
}

async function syncAt(apiUrl: string, uid: string): Promise<any[]> {
  const response = await fetch(`${apiUrl}/conversation/sync`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ uid, msg_count: 50 }) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`sync answered ${response.status}: ${text}`);
  return parseExactJson(text) as any[];
}

/** A full sync without versions, in a fixed order (equal timestamps are ordered by version). */
async function syncWithoutVersions(apiUrl: string, uid: string) {
  const conversations = await syncAt(apiUrl, uid);
  return conversations
    .map(({ version: _version, ...rest }) => rest)
    .sort((a, b) => a.channel_type - b.channel_type || (a.channel_id < b.channel_id ? -1 : 1));
}

async function endOffsets(admin: Admin, topic: string): Promise<Map<number, bigint>> {
  return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
}

/** Waits until `groupId`'s checkpoints in `databaseUrl` reach the topic's end offsets. */
async function waitUntilAppliedIn(admin: Admin, topic: string, databaseUrl: string, groupId: string): Promise<void> {
  const ends = await endOffsets(admin, topic);
  await waitFor(`${groupId} to apply ${topic}`, () =>
    withDatabase(databaseUrl, async (db) => {
      const { rows } = await db.query<{ partition: number; next_offset: string }>('SELECT partition, next_offset FROM consumer_checkpoints WHERE group_id = $1 AND topic = $2', [groupId, topic]);
      const applied = new Map(rows.map((r) => [r.partition, BigInt(r.next_offset)]));
      return [...ends].every(([partition, end]) => end === 0n || (applied.get(partition) ?? 0n) >= end);
    }),
  );
}

/** Every record of a topic, read with a throwaway group. */
async function readTopic(env: TestEnvironment, admin: Admin, topic: string): Promise<(KafkaMessage & { partition: number })[]> {
  const total = [...(await endOffsets(admin, topic)).values()].reduce((sum, end) => sum + end, 0n);
  const consumer = env.kafka.consumer({ groupId: `${env.groupId}-reader-${Date.now()}` });
  const records: (KafkaMessage & { partition: number })[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ partition, message }) => void records.push({ ...message, partition }) });
  try {
    await waitFor(`${total} records of ${topic}`, () => BigInt(records.length) >= total);
    return records;
  } finally {
    await consumer.disconnect();
  }
}

const KEPT = 50;

const headerText = (headers: IHeaders | undefined, name: string) => headers?.[name]?.toString();

describe('cli (e2e)', () => {
  const env = new TestEnvironment('cli');
  /** Only for its own database and Redis db: the rebuild target. */
  const rebuilt = new TestEnvironment('cli_rebuilt');
  let service: RunningService;
  let admin: Admin;
  let producer: Producer;
  let workDir: string;
  let appEnv: Record<string, string>;
  let rebuiltEnv: Record<string, string>;

  const generated = { events: 800, users: 30, groups: 3, seed: 11 };
  const ann = 'ann';
  const ben = 'ben';
  const cjk = '用户 @:|{';

  beforeAll(async () => {
    await Promise.all([env.setUp(), rebuilt.setUp()]);
    // The smallest window, so the generated groups' traffic exceeds it and the rebuild must trim alike.
    appEnv = env.appEnv({ RECENT_MESSAGES_KEPT: String(KEPT) });
    rebuiltEnv = env.appEnv({ DATABASE_URL: rebuilt.databaseUrl, REDIS_URL: rebuilt.redisUrl, KAFKA_GROUP_ID: rebuilt.groupId, RECENT_MESSAGES_KEPT: String(KEPT) });
    admin = env.kafka.admin();
    await admin.connect();
    producer = env.kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    workDir = await mkdtemp(join(tmpdir(), 'cs-cli-'));
    service = await RunningService.start(env, { RECENT_MESSAGES_KEPT: String(KEPT) });
  });

  afterAll(async () => {
    await service?.stop();
    await producer?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    if (workDir) await rm(workDir, { recursive: true, force: true });
    await Promise.all([env.tearDown(), rebuilt.tearDown()]);
  });

  it('answers --help on every command with exit 0, and wrong usage with exit 2', async () => {
    const helps = [['--help'], ['migrate', '--help'], ['produce', '--help'], ['rebuild', '--help'], ['dlq', '--help'], ['dlq', 'list', '--help'], ['dlq', 'replay', '-h']];
    for (const args of await Promise.all(helps.map((args) => cli(args, appEnv)))) {
      expect(linesOf(args)[0]).toMatch(/^Usage: npm run cli -- /);
    }
    const wrong = [['produce'], ['produce', '--generate', '0'], ['produce', '--file', 'x', '--seed', '1'], ['rebuild', '--force'], ['nope'], ['dlq'], ['dlq', 'list', '--limit', '-1']];
    for (const run of await Promise.all(wrong.map((args) => cli(args, appEnv)))) {
      expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 2, stdout: '' });
      expect(run.stderr.length).toBeGreaterThan(0);
    }
  });

  it('produce --file sends each line as it is, keyed by channel, invalid lines becoming dead letters', async () => {
    const lines = [
      JSON.stringify({ type: 'subscribers_added', channel_id: 'team:cli', channel_type: 2, subscribers: [ann, ben, cjk] }),
      '{"type":"message","message_id":9223372036854775807,"message_seq":1,"from_uid":"ann","channel_id":"team:cli","channel_type":2,"timestamp":1764100001,"payload":"aGk="}',
      JSON.stringify({ type: 'message', message_id: '9007199254740993', message_seq: 1, from_uid: ann, channel_id: ben, channel_type: 1, timestamp: 1764100002, payload: 'aGVsbG8=' }),
      '',
      JSON.stringify({ type: 'message', message_id: 5, message_seq: 2, from_uid: ben, channel_id: ann, channel_type: 1, timestamp: 1764100003, payload: '' }),
      JSON.stringify({ type: 'conversation_read', uid: ann, channel_id: ben, channel_type: 1 }),
      'not json at all',
      JSON.stringify({ type: 'message', message_id: 6, message_seq: 0, from_uid: ann, channel_id: 'team:cli', channel_type: 2, timestamp: 1764100004, payload: '' }),
      JSON.stringify({ type: 'message', message_id: 7, message_seq: 3, from_uid: ann, channel_id: ben, channel_type: 1, timestamp: 1764100005, payload: 'not base64!' }),
    ];
    const file = join(workDir, 'events.jsonl');
    await writeFile(file, `${lines.join('\n')}\n`);

    const run = await cli(['produce', '--file', file, '--progress'], appEnv);
    expect(linesOf(run)).toEqual([`produced: 8 records to ${env.topic} from ${file} (3 not valid events)`]);
    expect(run.stderr).toMatch(/produce \[#+\] 100% 8 records/);
    await env.waitUntilApplied();

    const forBen = await service.sync({ uid: ben, msg_count: 5 });
    const person = forBen.find((c) => c.channel_type === 1);
    expect(person).toMatchObject({ channel_id: ann, last_msg_seq: 2, unread: 0 });
    expect(person.recents.map((m: any) => m.message_id)).toEqual([5, 9_007_199_254_740_993n]);
    const [group] = (await service.sync({ uid: cjk, msg_count: 5 })).filter((c) => c.channel_type === 2);
    expect(group).toMatchObject({ channel_id: 'team:cli', last_msg_seq: 1, unread: 1 });
    expect(group.recents[0].message_id).toBe(9_223_372_036_854_775_807n);

    const letters = await env.readDeadLetters(3);
    expect(letters.map((l) => [l.headers['dlq-reason'], l.key]).sort()).toEqual([
      ['message_seq: must be an integer in 1..9007199254740991', '[2,"team:cli"]'],
      ['payload: must be valid base64', channelKeyOf(1, ann, ben)],
      ['value: not valid JSON', 'invalid'],
    ]);
  });

  it('produce --generate sends N valid events, silent on stderr without a terminal', async () => {
    const run = await cli(['produce', '--generate', String(generated.events), '--users', String(generated.users), '--groups', String(generated.groups), '--seed', String(generated.seed)], appEnv);
    expect(linesOf(run)).toEqual([`produced: 800 events to ${env.topic} (generated: users 30, groups 3, seed 11)`]);
    expect(run.stderr).not.toContain('%');
    await env.waitUntilApplied();

    // What the stores keep, by the domain's own retention rules: fewer than were sent.
    const sent = [...generateTraffic(generated)].filter((r) => r.event.type === 'message').length;
    const model = wholeProjectionState(KEPT);
    [...generateTraffic(generated)].forEach((r, i) => evolve(model, r.event, BigInt(i + 1)));
    const kept = keptNewMessages(model).length;
    expect(kept).toBeLessThan(sent);
    const { rows } = await withDatabase(env.databaseUrl, (db) => db.query("SELECT count(*)::int AS n FROM messages WHERE channel_key LIKE '%s11-%'"));
    expect(rows[0].n).toBe(kept);
  });

  it('rebuild replays the topic into an empty database: the same projections and the same syncs as the consumer built', async () => {
    const run = await cli(['rebuild', '--progress'], rebuiltEnv);
    expect(linesOf(run)).toEqual([`rebuilt: ${5 + generated.events} events applied, 3 dead letters, 3 partitions`]);
    expect(run.stderr).toMatch(/rebuild \[#+\] 100% 808\/808 records/);

    const consumerBuilt = await projectionSnapshot(env.databaseUrl);
    expect(consumerBuilt.messages.length).toBeGreaterThan(500);
    expect(await projectionSnapshot(rebuilt.databaseUrl)).toEqual(consumerBuilt);

    // Redis was rebuilt from PostgreSQL: complete, with every partition's closed version in the frontier.
    const closed = await withDatabase(rebuilt.databaseUrl, (db) =>
      db.query("SELECT 'p:' || partition AS field, closed_version::text AS version FROM consumer_checkpoints ORDER BY partition"),
    );
    expect(await rebuilt.redis.get(redisKeys.complete)).toBe('1');
    expect(await rebuilt.redis.hgetall(redisKeys.frontier)).toEqual({ count: '3', ...Object.fromEntries(closed.rows.map((row) => [row.field, row.version])) });

    const api = await AppProcess.start('api', rebuiltEnv);
    try {
      const uids = (await withDatabase(env.databaseUrl, (db) => db.query<{ uid: string }>('SELECT DISTINCT uid FROM conversations ORDER BY uid'))).rows.map((r) => r.uid);
      expect(uids.length).toBeGreaterThanOrEqual(generated.users);
      for (const uid of uids) expect({ uid, sync: await syncWithoutVersions(api.url, uid) }).toEqual({ uid, sync: await syncWithoutVersions(service.api.url, uid) });
    } finally {
      await api.stop();
    }
  });

  it('rebuild refuses a database with projections unless --yes, which truncates it first', async () => {
    const refused = await cli(['rebuild'], rebuiltEnv);
    linesOf(refused, 1);
    expect(refused.stderr).toMatch(/rebuild refused: DATABASE_URL already holds projections .*pass --yes/);

    const run = await cli(['rebuild', '--yes'], rebuiltEnv);
    expect(linesOf(run)).toEqual([`rebuilt: ${5 + generated.events} events applied, 3 dead letters, 3 partitions`]);
    expect(await projectionSnapshot(rebuilt.databaseUrl)).toEqual(await projectionSnapshot(env.databaseUrl));
  });

  it('rebuild refuses while consumers of KAFKA_GROUP_ID run', async () => {
    const busy = await cli(['rebuild', '--yes'], { ...rebuiltEnv, KAFKA_GROUP_ID: env.groupId });
    linesOf(busy, 1);
    expect(busy.stderr).toContain(`consumer group ${env.groupId} (KAFKA_GROUP_ID) has 1 active member(s)`);
  });

  it('a consumer started after the rebuild resumes where it ended; events published with EventPublisher show in syncs', async () => {
    const versionsBefore = await withDatabase(rebuilt.databaseUrl, (db) => db.query("SELECT uid, channel_key, version::text FROM conversations WHERE uid LIKE 's11-%' ORDER BY 1, 2"));
    const consumer = await AppProcess.start('consumer', rebuiltEnv);
    try {
      const publisher = new EventPublisher(producer, env.topic);
      await publisher.publishMessage({ message_id: 9_007_199_254_740_995n, message_seq: 3, from_uid: ben, channel_id: ann, channel_type: 1, timestamp: 1764100010, payload: Buffer.from('again') });
      await publisher.setUnread({ uid: cjk, channel_id: 'team:cli', channel_type: 2, unread: 0 });
      await env.waitUntilApplied();
      await waitUntilAppliedIn(admin, env.topic, rebuilt.databaseUrl, rebuilt.groupId);

      const [person] = (await service.sync({ uid: ann, msg_count: 1 })).filter((c) => c.channel_type === 1);
      expect(person).toMatchObject({ channel_id: ben, last_msg_seq: 3, unread: 1 });
      expect(person.recents[0]).toMatchObject({ message_id: 9_007_199_254_740_995n, payload: Buffer.from('again').toString('base64') });
      const [group] = (await service.sync({ uid: cjk })).filter((c) => c.channel_type === 2);
      expect(group).toMatchObject({ channel_id: 'team:cli', unread: 0 });

      expect(await projectionSnapshot(rebuilt.databaseUrl)).toEqual(await projectionSnapshot(env.databaseUrl));
      // Nothing was applied twice: the generated users' conversations kept the versions the rebuild gave them.
      const versionsAfter = await withDatabase(rebuilt.databaseUrl, (db) => db.query("SELECT uid, channel_key, version::text FROM conversations WHERE uid LIKE 's11-%' ORDER BY 1, 2"));
      expect(versionsAfter.rows).toEqual(versionsBefore.rows);
    } finally {
      await consumer.stop();
    }
  });

  it('dlq list shows each dead letter with its source and reason', async () => {
    const lines = linesOf(await cli(['dlq', 'list'], appEnv));
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe(`3 dead letters in ${env.dlqTopic}`);
    const source = `source=${env.topic.replace(/[.]/g, '\\.')}/\\d:\\d+`;
    const line = (reason: string) => lines.find((l) => l.includes(` reason="${reason}" `));
    expect(line('value: not valid JSON')).toMatch(new RegExp(`^0:\\d+ ${source} reason="[^"]+" key="invalid" value="not json at all"$`));
    expect(line('message_seq: must be an integer in 1..9007199254740991')).toMatch(new RegExp(`^0:\\d+ ${source} reason="[^"]+" key="\\[2,\\\\"team:cli\\\\"\\]" value="\\{\\\\"type`));
    // A value longer than 120 characters is cut.
    expect(line('payload: must be valid base64')).toMatch(new RegExp(`^0:\\d+ ${source} reason="[^"]+" key="\\[1,\\\\"ann\\\\",\\\\"ben\\\\"\\]" value="\\{.*…"$`));
    const offsets = lines.slice(0, 3).map((l) => BigInt(l.slice(2, l.indexOf(' '))));
    expect([...offsets].sort((a, b) => Number(a - b))).toEqual(offsets);

    const limited = linesOf(await cli(['dlq', 'list', '--limit', '1'], appEnv));
    expect(limited).toEqual([lines[0], `3 dead letters in ${env.dlqTopic}, first 1 shown`]);
  });

  it('dlq replay re-publishes the dead letters that validate now, once, with dlq-replayed-from', async () => {
    // Dead letters of an older release that now validate: one of them in the DLQ twice (same source record).
    const carolToDave = JSON.stringify({ type: 'message', message_id: 11, message_seq: 1, from_uid: 'carol', channel_id: 'dave', channel_type: 1, timestamp: 1764100020, payload: '' });
    const erinToFrank = JSON.stringify({ type: 'message', message_id: 12, message_seq: 1, from_uid: 'erin', channel_id: 'frank', channel_type: 1, timestamp: 1764100021, payload: '' });
    const fromSource = { 'dlq-reason': 'rejected by an older release', 'dlq-source-topic': env.topic, 'dlq-source-partition': '0', 'dlq-source-offset': '999999', 'trace-id': 't-1' };
    const [injected] = await producer.send({
      topic: env.dlqTopic,
      acks: -1,
      messages: [
        { key: channelKeyOf(1, 'carol', 'dave'), value: carolToDave, headers: fromSource },
        { key: channelKeyOf(1, 'carol', 'dave'), value: carolToDave, headers: fromSource },
        { key: channelKeyOf(1, 'erin', 'frank'), value: erinToFrank, headers: { 'dlq-reason': 'no source headers' } },
      ],
    });
    const base = BigInt(injected.baseOffset!);
    const [first, , third] = [0n, 1n, 2n].map((i) => `0:${base + i}`);
    const topicEnd = async () => [...(await endOffsets(admin, env.topic)).values()].reduce((sum, end) => sum + end, 0n);
    const endBefore = await topicEnd();

    const dry = linesOf(await cli(['dlq', 'replay', '--dry-run'], appEnv));
    expect(dry).toHaveLength(3);
    expect(dry[0]).toMatch(new RegExp(`^would replay ${first} source=${env.topic.replace(/[.]/g, '\\.')}/0:999999 `));
    expect(dry[1]).toMatch(new RegExp(`^would replay ${third} source=unknown `));
    expect(dry[2]).toBe('dry run: would replay 2, still invalid: 3, already replayed: 1');
    expect(await topicEnd()).toBe(endBefore);

    expect(linesOf(await cli(['dlq', 'replay'], appEnv))).toEqual(['replayed: 2, still invalid: 3, already replayed: 1']);
    expect(await topicEnd()).toBe(endBefore + 2n);
    await env.waitUntilApplied();
    expect(await service.sync({ uid: 'dave' })).toMatchObject([{ channel_id: 'carol', unread: 1 }]);
    expect(await service.sync({ uid: 'frank' })).toMatchObject([{ channel_id: 'erin', unread: 1 }]);

    const replayedRecords = (await readTopic(env, admin, env.topic)).filter((r) => r.headers?.['dlq-replayed-from'] !== undefined);
    expect(
      replayedRecords.map((r) => ({ from: headerText(r.headers, 'dlq-replayed-from'), key: r.key?.toString(), value: r.value?.toString(), trace: headerText(r.headers, 'trace-id'), reason: headerText(r.headers, 'dlq-reason') })).sort((a, b) => (a.from! < b.from! ? -1 : 1)),
    ).toEqual(
      [
        { from: first, key: channelKeyOf(1, 'carol', 'dave'), value: carolToDave, trace: 't-1', reason: undefined },
        { from: third, key: channelKeyOf(1, 'erin', 'frank'), value: erinToFrank, trace: undefined, reason: undefined },
      ].sort((a, b) => (a.from < b.from ? -1 : 1)),
    );

    expect(linesOf(await cli(['dlq', 'replay'], appEnv))).toEqual(['replayed: 0, still invalid: 3, already replayed: 3']);
    expect(await topicEnd()).toBe(endBefore + 2n);
    const recorded = await withDatabase(env.databaseUrl, (db) => db.query('SELECT dlq_partition, dlq_offset::text, source_offset::text FROM dlq_replays ORDER BY dlq_offset'));
    expect(recorded.rows).toEqual([
      { dlq_partition: 0, dlq_offset: String(base), source_offset: '999999' },
      { dlq_partition: 0, dlq_offset: String(base + 2n), source_offset: null },
    ]);
  });
});
