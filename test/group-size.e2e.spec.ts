import { channelKeyOf } from '@cs/domain';
import { redisKeys } from '@cs/storage';
import { RunningService } from './support/app-process';
import { GROUP, groupMessage, joined, personKey, personMessage, read, removed } from './support/events';
import { TestEnvironment } from './support/test-environment';
import { waitFor } from './support/wait-for';

/**
 * The fan-out rule through the real apps (SMALL_GROUP_MAX_MEMBERS 3): small
 * groups sit in each member's indexes, large ones in the member's set of
 * large groups, and a group crossing the line either way moves. Whatever the
 * mix, a page read from the index, and an incremental sync read from the index
 * by version, equal the full sync cut the same way — from Redis and from PostgreSQL.
 */
describe('group size and the per-user indexes (e2e)', () => {
  const env = new TestEnvironment('group-size');
  let service: RunningService;
  const key = (group: string) => channelKeyOf(GROUP, '', group);
  const at = (timestamp: number) => ({ timestamp });
  let seq = 0;
  const next = () => ++seq;

  beforeAll(async () => {
    await env.setUp();
    service = await RunningService.start(env, { SMALL_GROUP_MAX_MEMBERS: '3' });
    await env.produceAndWait(key('gs:small'), joined('gs:small', ['u', 'x']));
    await env.produceAndWait(key('gs:big'), joined('gs:big', ['u', 'x', 'y', 'z']));
    await env.produceAndWait(key('gs:grow'), joined('gs:grow', ['u', 'x']));
    // Person conversations between the groups' timestamps, two with equal timestamps.
    for (const [other, timestamp] of [['p1', 10], ['p2', 20], ['p3', 30], ['p4', 30], ['p5', 50], ['p6', 60]] as const) {
      await env.produceAndWait(personKey('u', other), personMessage(other, 'u', next(), at(timestamp)));
    }
    await env.produceAndWait(key('gs:small'), groupMessage('gs:small', 'x', next(), at(25)));
    await env.produceAndWait(key('gs:big'), groupMessage('gs:big', 'x', next(), at(45)));
    await env.produceAndWait(key('gs:grow'), groupMessage('gs:grow', 'x', next(), at(35)));
  }, 120_000);

  afterAll(async () => {
    await service?.stop();
    await env.tearDown();
  });

  const largeGroupsOf = async (uid: string) => (await env.redis.smembers(redisKeys.userLargeGroups(uid))).sort();

  /** Pages of 2, and incremental syncs from each version the full sync holds, agree with the full sync. */
  const expectIndexedReadsAgree = async (uid: string) => {
    const full = await service.sync({ uid, msg_count: 1 });
    const pages: unknown[] = [];
    for (let page = 1; page <= Math.ceil(full.length / 2) + 1; page++) pages.push(...(await service.sync({ uid, msg_count: 1, page, page_size: 2 })));
    expect(pages).toEqual(full);
    for (const { version } of full) {
      const changed = await service.sync({ uid, msg_count: 1, version: version.toString() });
      expect(changed).toEqual(full.filter((c) => c.version > version));
    }
    return full;
  };

  it('a small group is in the member’s index, a large one in their large groups; pages and incremental syncs agree', async () => {
    expect(await largeGroupsOf('u')).toEqual([key('gs:big')]);
    expect(await env.redis.zscore(redisKeys.userByVersion('u'), key('gs:small'))).not.toBeNull();
    expect(await env.redis.zscore(redisKeys.userByVersion('u'), key('gs:big'))).toBeNull();
    const full = await expectIndexedReadsAgree('u');
    expect(full.map((c) => c.channel_id)).toEqual(['p6', 'p5', 'gs:big', 'gs:grow', 'p4', 'p3', 'gs:small', 'p2', 'p1']);
  });

  it('a group growing past the line moves to its members’ large groups, and back when it shrinks', async () => {
    await env.produceAndWait(key('gs:grow'), joined('gs:grow', ['y', 'z']));
    expect(await largeGroupsOf('u')).toEqual([key('gs:big'), key('gs:grow')].sort());
    expect(await largeGroupsOf('x')).toEqual([key('gs:big'), key('gs:grow')].sort());
    await env.produceAndWait(key('gs:grow'), groupMessage('gs:grow', 'y', next(), at(55)));
    expect((await expectIndexedReadsAgree('u')).map((c) => c.channel_id).slice(0, 3)).toEqual(['p6', 'gs:grow', 'p5']);

    await env.produceAndWait(key('gs:grow'), removed('gs:grow', ['z']));
    expect(await largeGroupsOf('u')).toEqual([key('gs:big')]);
    await env.produceAndWait(key('gs:grow'), groupMessage('gs:grow', 'x', next(), at(65)));
    expect((await expectIndexedReadsAgree('u')).map((c) => c.channel_id).slice(0, 2)).toEqual(['gs:grow', 'p6']);
    await expectIndexedReadsAgree('y');
  });

  it('a message to a small group and a read move only the right entries', async () => {
    const before = await service.sync({ uid: 'u' });
    const highest = before.reduce((max, c) => (c.version > max ? c.version : max), 0n);
    await env.produceAndWait(key('gs:small'), groupMessage('gs:small', 'x', next(), at(70)));
    await env.produceAndWait(key('gs:big'), read('u', 'gs:big', GROUP));
    const changed = await service.sync({ uid: 'u', version: highest.toString() });
    expect(changed.map((c) => c.channel_id)).toEqual(['gs:small', 'gs:big']);
    expect(await service.sync({ uid: 'x', version: highest.toString() })).toMatchObject([{ channel_id: 'gs:small', unread: 0 }]);
  });

  it('a read, then the group growing past the line: an incremental sync from before the read still gets it', async () => {
    // v's only conversation, so nothing else in v's index stands for the read's version.
    await env.produceAndWait(key('gs:cross'), joined('gs:cross', ['v', 'x']));
    const sent = next();
    await env.produceAndWait(key('gs:cross'), groupMessage('gs:cross', 'x', sent, at(80)));
    const [seen] = await service.sync({ uid: 'v' });
    expect(seen.channel_id).toBe('gs:cross');
    expect(seen.unread).toBeGreaterThan(0);
    await env.produceAndWait(key('gs:cross'), read('v', 'gs:cross', GROUP));
    // Only the joiners' records change: v's entry moves to v's large groups without a new version of its own.
    await env.produceAndWait(key('gs:cross'), joined('gs:cross', ['y', 'z']));
    expect(await largeGroupsOf('v')).toEqual([key('gs:cross')]);
    const changed = await service.sync({ uid: 'v', version: seen.version.toString() });
    expect(changed).toMatchObject([{ channel_id: 'gs:cross', unread: 0, readed_to_msg_seq: sent }]);
  });

  it('PostgreSQL answers pages and incremental syncs as Redis does, and a rebuild restores the indexes', async () => {
    const fromRedis = await expectIndexedReadsAgree('u');
    const largeBefore = await largeGroupsOf('u');
    const byTimeBefore = await env.redis.zrange(redisKeys.userByTime('u'), 0, -1, 'WITHSCORES');
    await env.flushRedis();
    expect(await expectIndexedReadsAgree('u')).toEqual(fromRedis);
    // The consumer rebuilds Redis from PostgreSQL by itself.
    await waitFor('Redis rebuilt', () => env.redisIsComplete(), 20_000);
    expect(await largeGroupsOf('u')).toEqual(largeBefore);
    expect(await env.redis.zrange(redisKeys.userByTime('u'), 0, -1, 'WITHSCORES')).toEqual(byTimeBefore);
    expect(await expectIndexedReadsAgree('u')).toEqual(fromRedis);
  });
});
