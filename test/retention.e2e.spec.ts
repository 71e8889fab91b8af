import { channelKeyOf } from '@cs/domain';
import { redisKeys } from '@cs/storage';
import { RunningService } from './support/app-process';
import { GROUP, PERSON, groupMessage, joined, personMessage } from './support/events';
import { TestEnvironment, withDatabase } from './support/test-environment';
import { waitFor } from './support/wait-for';

/**
 * Bounded retention (issue 13) through the real consumer and API: more than
 * RECENT_MESSAGES_KEPT messages to a group (members and explicit subscribers)
 * and to a person channel; both stores keep bounded windows, and syncs still
 * return each user's newest visible messages, from Redis and from PostgreSQL alike.
 */
describe('retention (e2e)', () => {
  const KEPT = 50;
  const VACUUM_INTERVAL_MS = 200;
  const env = new TestEnvironment('retention');
  let service: RunningService;

  const group = 'ret:g';
  const groupKey = channelKeyOf(GROUP, '', group);
  const personChannelKey = channelKeyOf(PERSON, 'ret-a', 'ret-b');
  const SENT = 240;
  /** Every third group message goes to explicit subscribers x (a member) and y (not one). */
  const isExplicit = (seq: number) => seq % 3 === 0;
  /** Held back and sent after everything else: by then older than the kept window. */
  const LATE = 7;
  const seqs = (first: number, last: number, keep: (seq: number) => boolean = () => true) =>
    Array.from({ length: last - first + 1 }, (_, i) => last - i).filter(keep);
  const newest = (list: number[]) => list.slice(0, KEPT);

  beforeAll(async () => {
    await env.setUp();
    service = await RunningService.start(env, { RECENT_MESSAGES_KEPT: String(KEPT), POSTGRES_VACUUM_INTERVAL_MS: String(VACUUM_INTERVAL_MS) });
    await env.produceAndWait(joined(group, ['ret-a', 'ret-b', 'ret-x']));
    // Several batches, so trimming happens batch after batch and not only within one.
    for (let first = 1; first <= SENT; first += 60) {
      const range = seqs(first, first + 59).reverse().filter((seq) => seq !== LATE);
      await env.produceAndWait(...range.map((seq) => groupMessage(group, 'ret-a', seq, isExplicit(seq) ? { subscribers: ['ret-x', 'ret-y'] } : {})));
      await env.produceAndWait(...range.map((seq) => personMessage(seq % 2 ? 'ret-a' : 'ret-b', seq % 2 ? 'ret-b' : 'ret-a', seq)));
    }
  }, 120_000);

  afterAll(async () => {
    await service?.stop();
    await env.tearDown();
  });

  const recentSeqs = async (uid: string, channelType: number) => {
    const conversations = await service.sync({ uid, msg_count: 50 });
    const conversation = conversations.find((c) => c.channel_type === channelType);
    return { last: conversation?.last_msg_seq, recents: (conversation?.recents ?? []).map((m: { message_seq: number }) => m.message_seq) };
  };

  const memberDelivered = seqs(1, SENT, (seq) => !isExplicit(seq) && seq !== LATE);
  const explicit = seqs(1, SENT, isExplicit);

  it('syncs return each user’s newest 50 visible messages, from both windows merged', async () => {
    expect(await recentSeqs('ret-b', GROUP)).toEqual({ last: SENT - 1, recents: newest(memberDelivered) });
    expect(await recentSeqs('ret-x', GROUP)).toEqual({ last: SENT, recents: seqs(SENT - 49, SENT) });
    expect(await recentSeqs('ret-y', GROUP)).toEqual({ last: SENT, recents: newest(explicit) });
    expect(await recentSeqs('ret-a', PERSON)).toEqual({ last: SENT, recents: seqs(SENT - 49, SENT) });
  });

  it('PostgreSQL keeps at most RECENT_MESSAGES_KEPT per window: the channel’s, each explicit recipient’s', async () => {
    const { rows } = await withDatabase(env.databaseUrl, (db) =>
      db.query('SELECT channel_key, lane, count(*)::int AS n, max(seq)::int AS newest FROM messages GROUP BY 1, 2 ORDER BY 1, 2'),
    );
    expect(rows).toEqual([
      { channel_key: personChannelKey, lane: '', n: KEPT, newest: SENT },
      { channel_key: groupKey, lane: '', n: KEPT, newest: SENT - 1 },
      { channel_key: groupKey, lane: 'ret-x', n: KEPT, newest: SENT },
      { channel_key: groupKey, lane: 'ret-y', n: KEPT, newest: SENT },
    ].sort((a, b) => (a.channel_key + a.lane < b.channel_key + b.lane ? -1 : 1)));
  });

  it('Redis keeps the same windows', async () => {
    const sizes = await Promise.all([
      env.redis.zcard(redisKeys.messageWindow(groupKey, null)),
      env.redis.zcard(redisKeys.messageWindow(groupKey, 'ret-x')),
      env.redis.zcard(redisKeys.messageWindow(groupKey, 'ret-y')),
      env.redis.zcard(redisKeys.messageWindow(personChannelKey, null)),
    ]);
    expect(sizes).toEqual([KEPT, KEPT, KEPT, KEPT]);
    const lowest = await env.redis.zrange(redisKeys.messageWindow(groupKey, null), 0, 0, 'WITHSCORES');
    expect(lowest[1]).toBe(String(memberDelivered[KEPT - 1]));
  });

  it('the consumer vacuums what trimming and index entry updates left dead, so PostgreSQL can reuse the space (autovacuum may be off)', async () => {
    const tables = await waitFor('messages, index entries and conversations vacuumed after the last batch, no dead rows left', () =>
      withDatabase(env.databaseUrl, async (db) => {
        const { rows } = await db.query<{ relname: string; vacuum_count: string; n_dead_tup: string }>(
          `SELECT relname, vacuum_count, n_dead_tup FROM pg_stat_user_tables WHERE relname IN ('messages', 'conversation_index', 'conversations') ORDER BY relname`,
        );
        return rows.length === 3 && rows.every((r) => Number(r.vacuum_count) > 0 && Number(r.n_dead_tup) === 0) && rows;
      }),
    );
    expect(tables.map((r) => r.relname)).toEqual(['conversation_index', 'conversations', 'messages']);
  });

  it('a late arrival older than the kept window, and a duplicate of a trimmed seq to someone else, are dropped', async () => {
    const before = await service.sync({ uid: 'ret-b', msg_count: 50 });
    await env.produceAndWait(groupMessage(group, 'ret-b', LATE), groupMessage(group, 'ret-a', 4, { subscribers: ['ret-z'] }));
    expect(await service.sync({ uid: 'ret-b', msg_count: 50 })).toEqual(before);
    expect(await service.sync({ uid: 'ret-z', msg_count: 50 })).toEqual([]);
  });

  it('PostgreSQL answers the same as Redis once Redis is incomplete', async () => {
    const users = ['ret-a', 'ret-b', 'ret-x', 'ret-y'];
    const fromRedis = await Promise.all(users.map((uid) => service.sync({ uid, msg_count: 50 })));
    await service.consumer.stop();
    await env.redis.del(redisKeys.complete);
    const fromPostgres = await Promise.all(users.map((uid) => service.sync({ uid, msg_count: 50 })));
    expect(fromPostgres).toEqual(fromRedis);
    expect(fromPostgres[2][0].recents).toHaveLength(50);
  });
});
