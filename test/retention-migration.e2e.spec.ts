import { ProjectionCache, ProjectionRepository, RedisClient, createPool, createRedis, ensureDatabase, migrate } from '@cs/storage';
import { MIGRATIONS } from '../libs/storage/src/postgres/migrations';
import { BatchApplier } from '@cs/ingest';
import { channelKeyOf } from '@cs/domain';
import { Pool } from 'pg';
import { stringifyExact } from './support/json';
import { GROUP, PERSON, groupMessage } from './support/events';
import { TestEnvironment, withDatabase } from './support/test-environment';

/** Migration 6 trims data stored before retention, and batches carry on from the windows it builds. */
describe('retention migration (real PostgreSQL)', () => {
  const env = new TestEnvironment('retention_migration');
  const groupKey = channelKeyOf(GROUP, '', 'g');
  const personKey = channelKeyOf(PERSON, 'a', 'b');
  let pool: Pool;
  let redis: RedisClient;

  beforeAll(async () => {
    await env.setUp();
    await ensureDatabase(env.databaseUrl);
    await withDatabase(env.databaseUrl, async (db) => {
      await db.query('CREATE TABLE schema_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
      for (const migration of MIGRATIONS.filter((m) => m.id < 6)) {
        await db.query(migration.sql);
        await db.query('INSERT INTO schema_migrations (id, name) VALUES ($1, $2)', [migration.id, migration.name]);
      }
      // As stored before retention: 150 member-delivered group messages, 120 to explicit [x, y], 130 person messages.
      await db.query(
        `INSERT INTO messages (channel_key, seq, message_id, from_uid, timestamp, client_msg_no, version, recipients, body)
         SELECT $1, s, s, 'a', s, '', s, CASE WHEN s > 150 THEN '["x","y","x"]'::jsonb END, '"m"' FROM generate_series(1, 270) s
         UNION ALL
         SELECT $2, s, s, 'a', s, '', s, '["a","b"]'::jsonb, '"m"' FROM generate_series(1, 130) s`,
        [groupKey, personKey],
      );
    });
    expect(await migrate(env.databaseUrl)).toEqual([6, 7, 8, 9, 10]);
    pool = createPool(env.databaseUrl);
    redis = createRedis(env.redisUrl, { lazyConnect: true });
    await redis.connect();
  });

  afterAll(async () => {
    await pool?.end();
    redis?.disconnect();
    await env.tearDown();
  });

  const windows = async () =>
    (await pool.query('SELECT channel_key, lane, jsonb_array_length(kept_seqs) AS kept, kept_seqs->>0 AS lowest, dropped_up_to::int FROM message_windows ORDER BY 1, 2')).rows;

  it('keeps the newest 100 per window, one copy per explicit recipient naming only that recipient', async () => {
    const { rows } = await pool.query('SELECT channel_key, lane, count(*)::int AS n, min(seq)::int AS lowest FROM messages GROUP BY 1, 2 ORDER BY 1, 2');
    expect(rows).toEqual([
      { channel_key: personKey, lane: '', n: 100, lowest: 31 },
      { channel_key: groupKey, lane: '', n: 100, lowest: 51 },
      { channel_key: groupKey, lane: 'x', n: 100, lowest: 171 },
      { channel_key: groupKey, lane: 'y', n: 100, lowest: 171 },
    ]);
    const copy = await pool.query("SELECT recipients FROM messages WHERE channel_key = $1 AND lane = 'y' LIMIT 1", [groupKey]);
    expect(copy.rows[0].recipients).toEqual(['y']);
    expect(await windows()).toEqual([
      { channel_key: personKey, lane: '', kept: 100, lowest: '31', dropped_up_to: 30 },
      { channel_key: groupKey, lane: '', kept: 100, lowest: '51', dropped_up_to: 170 },
      { channel_key: groupKey, lane: 'x', kept: 100, lowest: '171', dropped_up_to: 0 },
      { channel_key: groupKey, lane: 'y', kept: 100, lowest: '171', dropped_up_to: 0 },
    ]);
  });

  it('the next batch shrinks a migrated window to RECENT_MESSAGES_KEPT and drops what is older than it', async () => {
    const applier = new BatchApplier(pool, new ProjectionRepository(pool), new ProjectionCache(redis), env.groupId, async () => 0, 50);
    const records = [groupMessage('g', 'a', 271), groupMessage('g', 'a', 20, { subscribers: ['z'] })].map((event, offset) => ({
      offset: String(offset),
      key: Buffer.from(groupKey),
      value: Buffer.from(stringifyExact(event)),
    }));
    expect(await applier.apply('events', 0, records)).toMatchObject({ applied: 2 });
    const { rows } = await pool.query("SELECT lane, count(*)::int AS n, min(seq)::int AS lowest FROM messages WHERE channel_key = $1 GROUP BY 1 ORDER BY 1", [groupKey]);
    expect(rows).toEqual([
      { lane: '', n: 50, lowest: 102 },
      { lane: 'x', n: 100, lowest: 171 },
      { lane: 'y', n: 100, lowest: 171 },
    ]);
  });
});
