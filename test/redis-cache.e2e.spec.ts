import { ChannelRecord, ConversationRecord, IndexEntry, SyncReadPlan, channelKeyOf, newChannel, newConversation } from '@cs/domain';
import { ProjectionCache, RedisClient, createRedis, encodeChannel, encodeConversation } from '@cs/storage';
import { GROUP } from './support/events';
import { TestEnvironment } from './support/test-environment';

/**
 * The Redis cache alone, on a single Redis or (TEST_REDIS_CLUSTER_URL) a Redis
 * Cluster: a batch spread over many users' slots lands whole, and a store that
 * loses its data — FLUSHDB, or on a cluster one master's keys while the
 * global marker lives on another — is noticed by the repair check, by reads
 * and by the next batch, until it is rebuilt.
 */
describe('Redis cache: batches across slots, lost data noticed (e2e)', () => {
  const env = new TestEnvironment('redis_cache');
  const channelKey = channelKeyOf(GROUP, '', 'g-cache');
  /** Enough users that their hash slots fall on every node of a three-master cluster. */
  const users = Array.from({ length: 60 }, (_, i) => `cache-user-${i}`);
  let redis: RedisClient;
  let cache: ProjectionCache;

  const channelAt = (version: bigint): ChannelRecord => ({
    ...newChannel(channelKey, GROUP),
    latestSeq: 1,
    broadcastHead: { seq: 1, timestamp: 1_764_100_000, clientMsgNo: 'c1' },
    broadcastVersion: version,
  });
  const conversationAt = (uid: string, version: bigint): ConversationRecord => ({
    ...newConversation(uid, channelKey, 'g-cache', GROUP),
    membership: 'member',
    version,
  });
  /** Half the users hold the group as a large one (read through the channel's slot), half in their index. */
  const entryOf = (uid: string, version: bigint): IndexEntry =>
    users.indexOf(uid) % 2 === 0 ? { kind: 'large' } : { kind: 'indexed', version, timestamp: 1_764_100_000 };

  async function rebuild(): Promise<void> {
    async function* pages() {
      yield { channels: [channelAt(2_048n)], conversations: users.map((uid) => ({ record: conversationAt(uid, 1_024n), entry: entryOf(uid, 2_048n) })) };
    }
    await cache.rebuild(pages(), 2_048n, { closed: [{ partition: 0, closedVersion: 4_096n }], partitionCount: 1 });
  }

  /** A batch of partition 0 writing at `version`, then closing at `closed` (published after the records, as the applier does). */
  async function writeBatch(version: bigint, closed: bigint): Promise<{ complete: boolean; refused: number }> {
    const conversations = users.map((uid) => ({ record: conversationAt(uid, version), entry: entryOf(uid, version) })).map(({ record, entry }) => ({ record, entry, text: encodeConversation(record, version) }));
    const channel = channelAt(version);
    const written = await cache.writeBatch({ conversations, entries: [], channels: [{ record: channel, text: encodeChannel(channel, version) }], messages: [], windows: [], trims: [] }, version);
    await cache.publishFrontier([{ partition: 0, closedVersion: closed }]);
    return written;
  }

  /** Both kinds of read: the whole user, and the index (by version) then the records it names. */
  const plans: SyncReadPlan[] = [{ read: 'everything' }, { read: 'changed', afterVersion: 0n }];
  const readable = async () =>
    (await Promise.all(users.map((uid, i) => cache.readSnapshot(uid, plans[i % 2]).catch(() => null)))).filter((read) => read !== null).length;

  beforeAll(async () => {
    await env.setUp();
    redis = createRedis(env.redisUrl, { enableOfflineQueue: true });
    cache = new ProjectionCache(redis);
  });

  afterAll(async () => {
    redis.disconnect();
    await env.tearDown();
  });

  it('answers every user from Redis after a rebuild, stamps included', async () => {
    await rebuild();
    expect(await cache.isComplete()).toBe(true);
    expect(await cache.readStamp(users[0])).toEqual({ stamp: 2_048n, frontier: 4_096n });
    const read = await cache.readSnapshot(users[1], { read: 'changed', afterVersion: 1_024n });
    expect({ conversations: read?.conversations.length, channel: read?.channels.get(channelKey)?.broadcastVersion }).toEqual({
      conversations: 1,
      channel: 2_048n,
    });
    expect(await readable()).toBe(users.length);
  });

  it('lands a batch spread over every user slot whole, and W (the frontier) raised after it', async () => {
    expect(await writeBatch(6_144n, 8_192n)).toEqual({ complete: true, refused: 0 });
    const stamps = await Promise.all(users.map((uid) => cache.readStamp(uid)));
    expect(new Set(stamps.map((s) => `${s?.stamp}/${s?.frontier}`))).toEqual(new Set(['6144/8192']));
  });

  it('notices lost data in the repair check, in reads and in the next batch, until rebuilt', async () => {
    await env.flushRedis();
    expect(await cache.isComplete()).toBe(false);
    // Every user on a single Redis; on a cluster at least those whose slots were on the node that lost its keys.
    expect(await readable()).toBeLessThan(users.length);
    expect(await writeBatch(10_240n, 12_288n)).toEqual({ complete: false, refused: 0 });
    await rebuild();
    expect({ complete: await cache.isComplete(), readable: await readable() }).toEqual({ complete: true, readable: users.length });
  });

  it("reads the stamps asked for in one event-loop turn together, each its own user's", async () => {
    // Last: above every version the earlier cases wrote (on a cluster, a flush leaves the other nodes' guards).
    // Each user's conversation at a version of its own, all in the index (no large groups left to raise them).
    const versionOf = (i: number) => 16_384n + 1_024n * BigInt(i);
    const highest = versionOf(users.length - 1);
    const conversations = users.map((uid, i) => {
      const record = conversationAt(uid, versionOf(i));
      return { record, entry: { kind: 'indexed' as const, version: versionOf(i), timestamp: 1_764_100_000 }, text: encodeConversation(record, highest) };
    });
    expect(await cache.writeBatch({ conversations, entries: [], channels: [], messages: [], windows: [], trims: [] }, highest)).toEqual({ complete: true, refused: 0 });
    await cache.publishFrontier([{ partition: 0, closedVersion: highest }]);
    const together = await Promise.all(users.map((uid) => cache.readStamp(uid)));
    expect(together.map((read) => read?.stamp)).toEqual(users.map((_, i) => versionOf(i)));
    expect(new Set(together.map((read) => read?.frontier))).toEqual(new Set([highest]));
  });
});
