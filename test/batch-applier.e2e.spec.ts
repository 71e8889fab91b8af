import { Client, Pool } from 'pg';
import { channelKeyOf } from '@cs/domain';
import { BatchApplier, BatchOutcome, DeadLetter, IncomingRecord, rebuildRedisFromPostgres } from '@cs/ingest';
import { PARTITIONS_LOCK_KEY, ProjectionCache, ProjectionRepository, RedisClient, createPool, createRedis, decodeConversation, encodeConversation, ensureDatabase, migrate, redisKeys } from '@cs/storage';
import { GROUP, PERSON, groupMessage, joined, personMessage, read } from './support/events';
import { stringifyExact } from './support/json';
import { TestEnvironment } from './support/test-environment';
import { waitFor } from './support/wait-for';

/**
 * The batch applier against real PostgreSQL and Redis, where timing matters.
 * Batches of different partitions write and commit side by side: one case
 * holds partition 0's row from the test and shows partition 1's batch
 * committing meanwhile. A batch loads its records before it locks its
 * partition: the next cases hold the partitions lock exclusively from the
 * test, let two batches queue behind it in a known order, and check that the
 * second one's early load is thrown away when the first changed what it
 * loaded. Then a stalled batch's late Redis write loses to a later one, and
 * PostgreSQL refuses one record of a batch.
 */
describe('batch applier (real PostgreSQL and Redis)', () => {
  const env = new TestEnvironment('batch_applier');
  const topic = 'events';
  const channel = 'g1';
  const channelKey = channelKeyOf(GROUP, '', channel);
  let pool: Pool;
  let redis: RedisClient;
  let applier: BatchApplier;
  let offsets: Map<number, number>;

  beforeAll(async () => {
    await env.setUp();
    await ensureDatabase(env.databaseUrl);
    await migrate(env.databaseUrl);
    pool = createPool(env.databaseUrl);
    redis = createRedis(env.redisUrl, { lazyConnect: true });
    await redis.connect();
    applier = new BatchApplier(pool, new ProjectionRepository(pool), new ProjectionCache(redis), env.groupId, async () => 0);
  });

  beforeEach(async () => {
    await pool.query('TRUNCATE channels, conversations, conversation_index, messages, message_windows, consumer_checkpoints');
    const projections = new ProjectionRepository(pool);
    await projections.registerPartitions(env.groupId, topic, 3);
    // Redis complete from the start, as a running consumer keeps it: no batch here has to rebuild it.
    await rebuildRedisFromPostgres(pool, projections, new ProjectionCache(redis), env.groupId, topic, false);
    offsets = new Map();
  });

  afterAll(async () => {
    await pool.end();
    redis.disconnect();
    await env.tearDown();
  });

  /** Records at the next offsets of `partition`, keyed by `key`. */
  function recordsFor(partition: number, key: string, ...events: object[]): IncomingRecord[] {
    return events.map((event) => {
      const offset = offsets.get(partition) ?? 0;
      offsets.set(partition, offset + 1);
      return { offset: String(offset), key: Buffer.from(key), value: Buffer.from(stringifyExact(event)) };
    });
  }

  /**
   * Runs `queued` in order behind a transaction holding the partitions lock
   * exclusively (or, with `partitionRow`, only that partition's row, which
   * queues its batches in order), then lets them through.
   */
  async function queuedBehindTheLock(queued: (() => Promise<BatchOutcome>)[], partitionRow?: number): Promise<BatchOutcome[]> {
    const holder = new Client({ connectionString: env.databaseUrl });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      if (partitionRow === undefined) await holder.query('SELECT pg_advisory_xact_lock($1)', [PARTITIONS_LOCK_KEY]);
      else await holder.query('SELECT 1 FROM consumer_checkpoints WHERE group_id = $1 AND topic = $2 AND partition = $3 FOR UPDATE', [env.groupId, topic, partitionRow]);
      const running: Promise<BatchOutcome>[] = [];
      for (const start of queued) {
        running.push(start());
        await waitFor(`${running.length} batch(es) waiting for the partitions lock`, async () => (await waitingForLocks()) === running.length);
      }
      await holder.query('COMMIT');
      return await Promise.all(running);
    } finally {
      await holder.end();
    }
  }

  async function waitingForLocks(): Promise<number> {
    const { rows } = await pool.query<{ waiting: string }>(
      "SELECT count(*) AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    );
    return Number(rows[0].waiting);
  }

  async function conversation(uid: string): Promise<{ read_seq: string; own_seq: string; membership: string } | undefined> {
    const { rows } = await pool.query('SELECT read_seq::text, own_seq::text, membership FROM conversations WHERE uid = $1 AND channel_key = $2', [uid, channelKey]);
    return rows[0];
  }

  async function checkpointOf(partition: number): Promise<{ next_offset: string; last_version: string; closed_version: string } | undefined> {
    const { rows } = await pool.query(
      'SELECT next_offset::text, last_version::text, closed_version::text FROM consumer_checkpoints WHERE group_id = $1 AND topic = $2 AND partition = $3',
      [env.groupId, topic, partition],
    );
    return rows[0];
  }

  it("commits a partition's batch while another partition's batch waits for its row", async () => {
    const otherChannel = channelKeyOf(GROUP, '', 'g2');
    const holder = new Client({ connectionString: env.databaseUrl });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM consumer_checkpoints WHERE group_id = $1 AND topic = $2 AND partition = 0 FOR UPDATE', [env.groupId, topic]);
      const held = applier.apply(topic, 0, recordsFor(0, channelKey, joined(channel, ['alice', 'bob'])));
      await waitFor("partition 0's batch to wait for its row", async () => (await waitingForLocks()) === 1);

      const other = await applier.apply(topic, 1, recordsFor(1, otherChannel, joined('g2', ['carol']), groupMessage('g2', 'carol', 1)));

      expect(other).toMatchObject({ applied: 2 });
      expect(await checkpointOf(1)).toMatchObject({ next_offset: '2' });
      expect(await checkpointOf(0)).toMatchObject({ next_offset: '0' });
      expect(await waitingForLocks()).toBe(1);
      const published = await redis.hget(redisKeys.frontier, 'p:1');
      expect(published).toBe((await checkpointOf(1))!.closed_version);

      await holder.query('COMMIT');
      expect(await held).toMatchObject({ applied: 1 });
      const [zero, one] = [await checkpointOf(0), await checkpointOf(1)];
      expect(zero).toMatchObject({ next_offset: '1' });
      // Each partition closed its own highest version, a multiple of 1024, above what it was closed at before.
      for (const row of [zero!, one!]) {
        expect(row.closed_version).toBe(row.last_version);
        expect(BigInt(row.closed_version) % 1024n).toBe(0n);
      }
      expect(await redis.hget(redisKeys.frontier, 'p:0')).toBe(zero!.closed_version);
    } finally {
      await holder.end();
    }
  });

  it("refuses a stalled batch's late Redis write over a record a later batch wrote", async () => {
    await applier.apply(topic, 0, recordsFor(0, channelKey, joined(channel, ['alice', 'bob']), read('alice', channel, GROUP)));
    const stored = await redis.hget(redisKeys.userConversations('alice'), channelKey);
    const { last_version: last } = (await checkpointOf(0))!;
    const record = JSON.parse(stored!) as unknown[];
    const stale = {
      uid: 'alice', channelKey, channelId: channel, channelType: GROUP, floor: 0, readSeq: 0, ownSeq: 0, directHead: null,
      membership: 'left' as const, leftVersion: null, frozenHead: null, version: 1024n, clearedVersion: null,
    };
    const cache = new ProjectionCache(redis);
    const lateAt = BigInt(last) - 1024n;

    const late = await cache.writeBatch(
      // Its index entry would move alice's group out of her index into her large groups, were the write accepted.
      { conversations: [{ record: stale, text: encodeConversation(stale, lateAt), entry: { kind: 'large' } }], entries: [], channels: [], messages: [], windows: [], trims: [] },
      lateAt,
    );

    expect(late).toEqual({ complete: true, refused: 1 });
    expect(await redis.hget(redisKeys.userConversations('alice'), channelKey)).toBe(stored);
    expect(record[record.length - 1]).toBe(last);
    expect(await redis.zscore(redisKeys.userByVersion('alice'), channelKey)).not.toBeNull();
    expect(await redis.sismember(redisKeys.userLargeGroups('alice'), channelKey)).toBe(0);
  });

  it('marks Redis incomplete before committing a batch whose writes Redis refused, then rebuilds it', async () => {
    await applier.apply(topic, 0, recordsFor(0, channelKey, joined(channel, ['alice', 'bob'])));
    // A rebuild (or any writer) stamped alice's entry above every version this batch gets: her new record is refused.
    await redis.hset(redisKeys.userEntryStates('alice'), channelKey, '9000000000000000000');
    let completeAtCommit: number | null = null;
    const watched = new BatchApplier(pool, new ProjectionRepository(pool), new ProjectionCache(redis), env.groupId, async () => 0, undefined, undefined, {
      beforeCommit: async () => {
        completeAtCommit = await redis.exists(redisKeys.complete);
      },
    });

    const outcome = await watched.apply(topic, 0, recordsFor(0, channelKey, groupMessage(channel, 'alice', 1)));

    // The closer could publish W past this batch right after its commit: Redis was no longer taken for whole by then.
    expect({ applied: outcome.applied, refused: outcome.redisWritesRefused, completeAtCommit }).toEqual({ applied: 1, refused: 1, completeAtCommit: 0 });
    const { rows } = await pool.query<{ version: string }>('SELECT version::text FROM conversations WHERE uid = $1 AND channel_key = $2', ['alice', channelKey]);
    const rebuilt = decodeConversation((await redis.hget(redisKeys.userConversations('alice'), channelKey))!);
    expect({ complete: await redis.exists(redisKeys.complete), version: rebuilt.version.toString() }).toEqual({ complete: 1, version: rows[0].version });
  });

  it('reloads when an event keyed by another channel changed the records meanwhile', async () => {
    await applier.apply(topic, 0, recordsFor(0, channelKey, joined(channel, ['alice', 'bob']), groupMessage(channel, 'bob', 1)));

    const [misKeyed, keyed] = await queuedBehindTheLock([
      // Not keyed by its channel, so it may land on any partition: it locks every partition and loads under the lock.
      () => applier.apply(topic, 1, recordsFor(1, 'not-the-channel-key', read('alice', channel, GROUP, 1))),
      // Keyed by its channel: it loads first, then waits for its partition behind the read.
      () => applier.apply(topic, 0, recordsFor(0, channelKey, groupMessage(channel, 'alice', 2))),
    ]);

    expect(misKeyed.applied).toBe(1);
    expect(keyed).toMatchObject({ applied: 1, loadedUnderClock: true });
    expect(await conversation('alice')).toEqual({ read_seq: '1', own_seq: '2', membership: 'member' });
  });

  it('reloads when another instance applied the same partition meanwhile', async () => {
    const first = recordsFor(0, channelKey, joined(channel, ['alice', 'bob']), groupMessage(channel, 'alice', 1));
    const more = recordsFor(0, channelKey, read('bob', channel, GROUP, 1));

    const [applied, redelivered] = await queuedBehindTheLock([
      () => applier.apply(topic, 0, first),
      // The same partition redelivered to a second instance, with one record more.
      () => applier.apply(topic, 0, [...first, ...more]),
    ], 0);

    expect(applied).toMatchObject({ applied: 2, loadedUnderClock: false });
    expect(redelivered).toMatchObject({ applied: 1, skipped: 2, loadedUnderClock: true });
    expect(await conversation('bob')).toEqual({ read_seq: '1', own_seq: '0', membership: 'member' });
  });

  it('keeps the early load when nothing it read changed', async () => {
    await applier.apply(topic, 0, recordsFor(0, channelKey, joined(channel, ['alice', 'bob'])));
    const otherChannel = channelKeyOf(GROUP, '', 'g2');

    const [, keyed] = await queuedBehindTheLock([
      () => applier.apply(topic, 1, recordsFor(1, otherChannel, joined('g2', ['carol']))),
      () => applier.apply(topic, 0, recordsFor(0, channelKey, groupMessage(channel, 'alice', 1))),
    ]);

    expect(keyed).toMatchObject({ applied: 1, loadedUnderClock: false });
    expect(await conversation('alice')).toEqual({ read_seq: '0', own_seq: '1', membership: 'member' });
  });

  // The fast path as producers use it: each partition's batch is keyed by its channels, loads
  // before it locks its partition while other partitions' batches run, and keeps that load.
  it('keeps the early loads of batches of other partitions that touch the same users, and applies each once', async () => {
    await applier.apply(topic, 0, recordsFor(0, channelKey, joined(channel, ['alice', 'bob'])));
    const personChannel = channelKeyOf(PERSON, 'carol', 'alice');

    const outcomes = await queuedBehindTheLock([
      () => applier.apply(topic, 0, recordsFor(0, channelKey, groupMessage(channel, 'bob', 1), groupMessage(channel, 'bob', 2), read('alice', channel, GROUP, 1))),
      () => applier.apply(topic, 1, recordsFor(1, personChannel, personMessage('carol', 'alice', 1), personMessage('alice', 'carol', 2))),
      () => applier.apply(topic, 2, recordsFor(2, channelKeyOf(PERSON, 'bob', 'alice'), personMessage('bob', 'alice', 1))),
    ]);

    expect(outcomes.map(({ applied, loadedUnderClock }) => ({ applied, loadedUnderClock }))).toEqual([
      { applied: 3, loadedUnderClock: false },
      { applied: 2, loadedUnderClock: false },
      { applied: 1, loadedUnderClock: false },
    ]);
    const { rows } = await pool.query<{ uid: string; channel_key: string; read_seq: string; own_seq: string; version: string }>(
      "SELECT uid, channel_key, read_seq::text, own_seq::text, version::text FROM conversations WHERE uid IN ('alice', 'bob')",
    );
    // One row per user and channel (the partitions' batches ran side by side, in no set order).
    const byKey = (a: { uid: string; channel_key: string }, b: { uid: string; channel_key: string }) =>
      `${a.uid} ${a.channel_key}` < `${b.uid} ${b.channel_key}` ? -1 : 1;
    expect(rows.map(({ uid, channel_key, read_seq, own_seq }) => ({ uid, channel_key, read_seq, own_seq })).sort(byKey)).toEqual(
      [
        { uid: 'bob', channel_key: channelKey, read_seq: '0', own_seq: '2' },
        { uid: 'alice', channel_key: channelKey, read_seq: '1', own_seq: '0' },
        { uid: 'alice', channel_key: personChannel, read_seq: '0', own_seq: '2' },
        { uid: 'alice', channel_key: channelKeyOf(PERSON, 'bob', 'alice'), read_seq: '0', own_seq: '0' },
        { uid: 'bob', channel_key: channelKeyOf(PERSON, 'bob', 'alice'), read_seq: '0', own_seq: '1' },
      ].sort(byKey),
    );
    const checkpoints = await pool.query('SELECT partition, next_offset::text FROM consumer_checkpoints ORDER BY partition');
    expect(checkpoints.rows).toEqual([
      { partition: 0, next_offset: '4' },
      { partition: 1, next_offset: '2' },
      { partition: 2, next_offset: '1' },
    ]);
  });

  it('dead-letters a record PostgreSQL refuses, applies the rest, and leaves Redis without it', async () => {
    // Stands for a value validation let through that PostgreSQL cannot hold: a data exception (class 22) for one message.
    await pool.query(`CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.client_msg_no = 'poison' THEN RAISE EXCEPTION 'refused for the test' USING ERRCODE = '22023'; END IF;
        RETURN NEW;
      END $$`);
    await pool.query('CREATE TRIGGER refuse_poison BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION refuse_poison()');
    try {
      const letters: DeadLetter[] = [];
      const isolating = new BatchApplier(pool, new ProjectionRepository(pool), new ProjectionCache(redis), env.groupId, async (_topic, _partition, sent) => {
        letters.push(...sent);
        return sent.length;
      });

      const outcome = await isolating.apply(
        topic,
        0,
        recordsFor(
          0,
          channelKey,
          joined(channel, ['alice', 'bob']),
          groupMessage(channel, 'alice', 1),
          groupMessage(channel, 'alice', 2, { client_msg_no: 'poison' }),
          groupMessage(channel, 'alice', 3),
        ),
      );

      expect(outcome).toMatchObject({ applied: 3, deadLetters: 1 });
      expect(letters.map((letter) => [letter.record.offset, letter.reason])).toEqual([['2', expect.stringMatching(/^storage: .*refused for the test/)]]);
      const stored = await pool.query('SELECT seq::int FROM messages WHERE channel_key = $1 ORDER BY seq', [channelKey]);
      expect(stored.rows.map((row) => row.seq)).toEqual([1, 3]);
      expect(await redis.exists(redisKeys.complete)).toBe(1);
      expect(await redis.zrange(redisKeys.messageWindow(channelKey, null), 0, -1, 'WITHSCORES').then(scoresOf)).toEqual(['1', '3']);
      expect(await conversation('alice')).toEqual({ read_seq: '0', own_seq: '3', membership: 'member' });
    } finally {
      await pool.query('DROP TRIGGER IF EXISTS refuse_poison ON messages; DROP FUNCTION IF EXISTS refuse_poison()');
    }
  });
});

/** The scores of a ZRANGE ... WITHSCORES reply. */
function scoresOf(reply: string[]): string[] {
  return reply.filter((_, i) => i % 2 === 1);
}
