import { TUNING } from '@cs/config';
import calculateSlot from 'cluster-key-slot';
import Redis, { Cluster, RedisOptions } from 'ioredis';
import { channelFieldPosition } from '../record-fields';

/** A single Redis or a Redis Cluster (REDIS_URL `redis+cluster://host:port,host:port`). */
export type RedisClient = Redis | Cluster;

/** Put before every key (REDIS_KEY_PREFIX): deployments, or test files, sharing one Redis (Cluster) keep apart. Outside the hash tag, so slots do not move. */
let keyPrefix = '';

export function setRedisKeyPrefix(prefix: string): void {
  keyPrefix = prefix;
}

export function redisKeyPrefix(): string {
  return keyPrefix;
}

/** Versioned with the layout: data of an older layout gets rebuilt. */
const LAYOUT = 9;

/**
 * The Redis key layout, in one place. Ids are hex-encoded inside the hash tag:
 * any character an id holds ('{', ':', spaces, CJK) can neither collide with
 * another id nor move the hash slot, and everything one user's or one channel's
 * operation touches shares a slot. Keys global to the service share the
 * {global} slot.
 */
export const redisKeys = {
  /**
   * Hash: FRONTIER_COUNT_FIELD -> how many partitions the topic has registered,
   * and `p:<partition>` -> that partition's closed version (decimal; only
   * raised). W, the lowest closed version over all of them, tells readers
   * which versions are whole: every change not yet whole is above it. In the
   * {global} slot, next to the complete marker.
   */
  get frontier() {
    return `${keyPrefix}cs:{global}:frontier`;
  },
  /** Present while Redis holds everything PostgreSQL does; absent after a flush until rebuilt. */
  get complete() {
    return `${keyPrefix}cs:{global}:complete:${LAYOUT}`;
  },
  /**
   * Per hash slot, in that slot (Cluster only): present while the slot holds
   * everything, so a node that restarts empty is noticed by every script and
   * read touching one of its slots, whatever happens to the global marker.
   */
  slotComplete: (slot: number) => `${keyPrefix}cs:{${slotTag(slot)}}:complete:${LAYOUT}`,
  /** Every key this service owns. */
  get pattern() {
    return `${keyPrefix}cs:*`;
  },
  /**
   * Hash: channel key -> conversation record, plus the field STAMP_FIELD: the
   * highest version (decimal) among the user's records whose entry is a large
   * group's (by-version holds the other entries' versions; READ_STAMPS_SCRIPT
   * takes the highest of both). Channel keys are JSON arrays, so they never
   * equal it.
   */
  userConversations: (uid: string) => `${keyPrefix}cs:{u:${hex(uid)}}:conversations`,
  /**
   * The user's indexes (see @cs/domain fan-out.ts), of every conversation but
   * the large groups they are a member of. By version: sorted set, member =
   * channel key, score = version / 1024 — versions are multiples of 1024
   * below 2^63, so the score is an integer below 2^53, exact as a double (a
   * raw version would not be).
   */
  userByVersion: (uid: string) => `${keyPrefix}cs:{u:${hex(uid)}}:by-version`,
  /**
   * By (timestamp, version), the answer's order, of the conversations a full
   * sync lists: score = timestamp (≤ 2^53), member = version / 1024 as
   * TIME_MEMBER_DIGITS hex digits then the channel key, so equal timestamps
   * sort by version.
   */
  userByTime: (uid: string) => `${keyPrefix}cs:{u:${hex(uid)}}:by-time`,
  /**
   * Hash: channel key -> `<writtenAt>` or `<writtenAt> <by-time member>`: the
   * version of the batch that last wrote the conversation's record or index
   * entry (a write from an earlier batch, a consumer that stalled past its
   * PostgreSQL session, is refused), and the entry's current member of
   * by-time (so a move removes it). One field read and one written per entry.
   */
  userEntryStates: (uid: string) => `${keyPrefix}cs:{u:${hex(uid)}}:entry-states`,
  /** Set: channel keys of the large groups the user is a member of. */
  userLargeGroups: (uid: string) => `${keyPrefix}cs:{u:${hex(uid)}}:large-groups`,
  /** String: channel record. READ_STAMPS_SCRIPT builds this key in Lua too (single Redis only; ARGV[2] is the prefix). */
  channel: (channelKey: string) => `${keyPrefix}cs:{c:${hex(channelKey)}}:channel`,
  /**
   * Sorted set of one message window (see @cs/domain retention.ts): score = seq
   * (≤ 2^53, exact as a double), member = message record. lane null: the
   * channel's window; a uid: that explicit recipient's, in the channel's slot.
   * A replay after a failed commit may add a second member for a seq: readers
   * keep the first per seq, and trimming removes by score, so both go together.
   */
  messageWindow: (channelKey: string, lane: string | null) =>
    lane === null ? `${keyPrefix}cs:{c:${hex(channelKey)}}:messages` : `${keyPrefix}cs:{c:${hex(channelKey)}}:messages-to:${hex(lane)}`,
};

export const STAMP_FIELD = 'stamp';
export const FRONTIER_COUNT_FIELD = 'count';

/** The frontier hash's field for one partition. */
export function frontierField(partition: number): string {
  return `p:${partition}`;
}

/**
 * W from the frontier hash's fields (HGETALL's flat reply): the lowest closed
 * version over partitions 0..count-1, or null when a partition is missing
 * (flushed, or not yet republished): then nothing is known to be whole.
 * FRONTIER_LUA computes the same in scripts.
 */
export function frontierOf(fields: readonly string[]): bigint | null {
  const closed = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) closed.set(fields[i], fields[i + 1]);
  const count = Number(closed.get(FRONTIER_COUNT_FIELD));
  if (!Number.isSafeInteger(count) || count < 1) return null;
  let lowest: bigint | null = null;
  for (let partition = 0; partition < count; partition++) {
    const text = closed.get(frontierField(partition));
    if (text === undefined) return null;
    const version = BigInt(text);
    if (lowest === null || version < lowest) lowest = version;
  }
  return lowest;
}

/** version / 1024 < 2^53 < 16^14. */
export const TIME_MEMBER_DIGITS = 14;

export function versionScore(version: bigint): string {
  return (version / 1024n).toString();
}

export function timeMember(version: bigint, channelKey: string): string {
  return (version / 1024n).toString(16).padStart(TIME_MEMBER_DIGITS, '0') + channelKey;
}

const ASCII_HEX = Array.from({ length: 128 }, (_, code) => code.toString(16).padStart(2, '0'));

/** The UTF-8 bytes of `id` in hex. Every write names a few keys per record, so ASCII ids skip the Buffer. */
export function hex(id: string): string {
  let encoded = '';
  for (let i = 0; i < id.length; i++) {
    const code = id.charCodeAt(i);
    if (code >= 128) return Buffer.from(id, 'utf8').toString('hex');
    encoded += ASCII_HEX[code];
  }
  return encoded;
}

export function slotOf(key: string): number {
  return calculateSlot(key);
}

/** For each hash slot, a short tag (base 36) that hashes to it: found once, on first use. */
let slotTags: string[] | null = null;

function slotTag(slot: number): string {
  if (slotTags === null) {
    const tags: string[] = new Array(16384);
    let found = 0;
    for (let i = 0; found < 16384; i++) {
      const tag = `s${i.toString(36)}`;
      const tagSlot = calculateSlot(tag);
      if (tags[tagSlot] === undefined) {
        tags[tagSlot] = tag;
        found++;
      }
    }
    slotTags = tags;
  }
  return slotTags[slot];
}

export function isCluster(redis: RedisClient): redis is Cluster {
  return redis instanceof Cluster;
}

/**
 * Deletes every key matching `pattern`, a page at a time (SCAN, then UNLINK:
 * Redis frees them in the background), on every master of a cluster (or the
 * ones given); there a key at a time, since one UNLINK may not span slots.
 */
export async function unlinkMatching(redis: RedisClient, pattern: string, masters?: Redis[]): Promise<void> {
  for (const node of isCluster(redis) ? masters ?? redis.nodes('master') : [redis]) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (keys.length > 0) {
        if (isCluster(redis)) await Promise.all(keys.map((key) => redis.unlink(key)));
        else await node.unlink(...keys);
      }
      cursor = next;
    } while (cursor !== '0');
  }
}

const CLUSTER_SCHEME = 'redis+cluster:';

/**
 * A client for REDIS_URL: `redis://` or `rediss://` for one Redis,
 * `redis+cluster://[user:password@]host:port[,host:port...]` for a Redis
 * Cluster (the nodes to start from; the client learns the rest).
 */
export function createRedis(redisUrl: string, options: RedisOptions = {}): RedisClient {
  const settings: RedisOptions = {
    // Fail fast while Redis is away: callers fall back to PostgreSQL or retry the batch.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: TUNING.redis.commandTimeoutMs,
    connectTimeout: TUNING.redis.connectTimeoutMs,
    retryStrategy: (attempt) => Math.min(attempt * 100, TUNING.redis.maxReconnectDelayMs),
    ...options,
  };
  const redis = redisUrl.startsWith(CLUSTER_SCHEME) ? createCluster(redisUrl, settings) : new Redis(redisUrl, settings);
  redis.on('error', () => undefined);
  return redis;
}

/** The seed nodes and credentials of a `redis+cluster://` URL. */
export function parseClusterUrl(redisUrl: string): { nodes: { host: string; port: number }[]; username?: string; password?: string } {
  const rest = redisUrl.slice(`${CLUSTER_SCHEME}//`.length).replace(/\/.*$/, '');
  const at = rest.lastIndexOf('@');
  const [username, password] = at < 0 ? [] : rest.slice(0, at).split(':').map(decodeURIComponent);
  const nodes = rest
    .slice(at + 1)
    .split(',')
    .map((node) => {
      const match = /^([^:,]+):(\d{1,5})$/.exec(node.trim());
      if (!match) throw new Error(`REDIS_URL: cluster node ${JSON.stringify(node)} is not host:port`);
      return { host: match[1], port: Number(match[2]) };
    });
  return { nodes, ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

function createCluster(redisUrl: string, settings: RedisOptions): Cluster {
  const { nodes, username, password } = parseClusterUrl(redisUrl);
  const { enableOfflineQueue, lazyConnect, retryStrategy, ...nodeOptions } = settings;
  return new Cluster(nodes, {
    enableOfflineQueue,
    lazyConnect,
    // Commands issued in one event-loop turn go out as one pipeline per node.
    enableAutoPipelining: true,
    clusterRetryStrategy: retryStrategy,
    redisOptions: { ...nodeOptions, username, password },
  });
}

/** Lua: a < b for non-negative decimals of any size (longer is larger), never through doubles. */
const DECIMAL_BELOW_LUA = `
local function below(a, b)
  return #a < #b or (#a == #b and a < b)
end`;

/**
 * Runs commands atomically and returns {whether KEYS[1] (the complete marker)
 * existed before, how many guarded writes were refused}. ARGV[1] holds the
 * commands as one text of NUL-separated fields — each command's name, its
 * argument count, then its arguments: one argument costs the client far less
 * than thousands, nothing is escaped, and no field can hold a NUL (keys are
 * hex, records are JSON text, decimals are digits). Versions are compared as
 * decimal strings (longer is larger), never as doubles. Besides Redis commands:
 * - ['RAISE', key, field, decimal] sets the hash field only to a larger decimal;
 * - ['ENTRY', hash, by-version, by-time, large-groups, entry-states, channel
 *   key, writtenAt, record, version score ('' = a large group), timestamp
 *   ('' = not listed), time member] writes one conversation's record and its
 *   index entry together (readers see both or neither), only over what an
 *   earlier batch wrote (see redisKeys.userEntryStates); ['INDEX', the same
 *   but the record] moves the index entry alone (a small group's message to
 *   its members: their records stay); ['SPUT', key, writtenAt, text] does the
 *   same for a string key (its text ends with the writtenAt of the batch that
 *   wrote it, see record-codec). A refused write is a batch that stalled past
 *   its PostgreSQL session (its late writes must not win): nothing of it
 *   moves, and it is counted.
 */
export const APPLY_COMMANDS_SCRIPT = `${DECIMAL_BELOW_LUA}
local function writtenAt(text)
  return (text and string.match(text, '"(%d+)"%]$')) or ''
end
local complete, refused = redis.call('EXISTS', KEYS[1]), 0
local text, fields, n, position = ARGV[1], {}, 0, 1
while true do
  local stop = string.find(text, '\\0', position, true)
  n = n + 1
  if not stop then
    fields[n] = string.sub(text, position)
    break
  end
  fields[n] = string.sub(text, position, stop - 1)
  position = stop + 1
end
-- Moves a conversation's index entry if the batch may write it (see redisKeys.userEntryStates).
local function place(byVersion, byTime, large, states, channel, written, score, timestamp, member)
  local state = redis.call('HGET', states, channel)
  local old, oldMember = '', nil
  if state then
    local space = string.find(state, ' ', 1, true)
    if space then
      old, oldMember = string.sub(state, 1, space - 1), string.sub(state, space + 1)
    else
      old = state
    end
  end
  if not below(old, written) then
    refused = refused + 1
    return false
  end
  if oldMember and oldMember ~= member then redis.call('ZREM', byTime, oldMember) end
  if score == '' then
    redis.call('ZREM', byVersion, channel)
    redis.call('SADD', large, channel)
    redis.call('HSET', states, channel, written)
  else
    -- Only an entry new to the index can have been a large group's.
    if redis.call('ZADD', byVersion, score, channel) == 1 then redis.call('SREM', large, channel) end
    if timestamp ~= '' then
      redis.call('ZADD', byTime, timestamp, member)
      redis.call('HSET', states, channel, written .. ' ' .. member)
    else
      redis.call('HSET', states, channel, written)
    end
  end
  return true
end
local i = 1
while i <= n do
  local name, count = fields[i], tonumber(fields[i + 1])
  if name == 'ENTRY' then
    local hash, byVersion, byTime, large, states, channel, written, record, score, timestamp, member = unpack(fields, i + 2, i + 12)
    if place(byVersion, byTime, large, states, channel, written, score, timestamp, member) then
      redis.call('HSET', hash, channel, record)
    end
  elseif name == 'INDEX' then
    local states, byVersion, byTime, large, channel, written, score, timestamp, member = unpack(fields, i + 2, i + 10)
    place(byVersion, byTime, large, states, channel, written, score, timestamp, member)
  elseif name == 'RAISE' then
    local key, field, value = fields[i + 2], fields[i + 3], fields[i + 4]
    local current = redis.call('HGET', key, field)
    if (not current) or below(current, value) then
      redis.call('HSET', key, field, value)
    end
  elseif name == 'SPUT' then
    local key, written = fields[i + 2], fields[i + 3]
    if below(writtenAt(redis.call('GET', key)), written) then
      redis.call('SET', key, fields[i + 4])
    else
      refused = refused + 1
    end
  else
    redis.call(name, unpack(fields, i + 2, i + 1 + count))
  end
  i = i + 2 + count
end
return {complete, refused}`;

/**
 * Raises closed versions in the frontier hash (KEYS[1]): ARGV[1] the
 * registered partition count ('' to leave it), then partition field and
 * closed version pairs. Only ever raises, so publications may arrive in any order.
 */
export const PUBLISH_FRONTIER_SCRIPT = `${DECIMAL_BELOW_LUA}
local function raise(field, value)
  local current = redis.call('HGET', KEYS[1], field)
  if (not current) or below(current, value) then redis.call('HSET', KEYS[1], field, value) end
end
if ARGV[1] ~= '' then raise('${FRONTIER_COUNT_FIELD}', ARGV[1]) end
for i = 2, #ARGV, 2 do raise(ARGV[i], ARGV[i + 1]) end
return 1`;

/** Lua: W from the frontier hash KEYS[1] (as frontierOf), or nil. */
const FRONTIER_LUA = `
local function frontier()
  local fields, closed = redis.call('HGETALL', KEYS[1]), {}
  for i = 1, #fields, 2 do closed[fields[i]] = fields[i + 1] end
  local count = tonumber(closed['${FRONTIER_COUNT_FIELD}'] or '0')
  if count < 1 then return nil end
  local lowest = nil
  for partition = 0, count - 1 do
    local version = closed['p:' .. partition]
    if not version then return nil end
    if (not lowest) or below(version, lowest) then lowest = version end
  end
  return lowest
end`;

/** READ_STAMPS_SCRIPT's keys per user: conversations hash, large groups, by-version index. */
export const STAMP_KEYS_PER_USER = 3;

/** Separates the fields of APPLY_COMMANDS_SCRIPT's ARGV[1]. */
export const FIELD_SEPARATOR = '\0';

/**
 * Many users' stamps in one script (the reads of an event-loop turn): {W (the
 * frontier, read once, first), then per user the highest of the hash's
 * STAMP_FIELD and their large groups' broadcast versions, and the top score of
 * their by-version index (version / 1024, '0' if empty; the caller takes the
 * higher)}; false when Redis is not complete or W is unknown. KEYS: frontier,
 * complete marker, then per user (STAMP_KEYS_PER_USER) their conversations
 * hash, large groups and by-version index; ARGV[1]: the stamp field, ARGV[2]:
 * the key prefix. Single Redis only: it builds channel keys (of other slots)
 * itself. Versions are compared as decimal strings; the score, below 2^53, is
 * exact as a double and printed as an integer.
 */
export const READ_STAMPS_SCRIPT = `${DECIMAL_BELOW_LUA}${FRONTIER_LUA}
local w = frontier()
if (not w) or redis.call('EXISTS', KEYS[2]) == 0 then return false end
local answer, broadcast = {w}, {}
local function broadcastVersion(channelKey)
  if broadcast[channelKey] == nil then
    local hex = string.gsub(channelKey, '.', function(c) return string.format('%02x', string.byte(c)) end)
    local text = redis.call('GET', ARGV[2] .. 'cs:{c:' .. hex .. '}:channel')
    broadcast[channelKey] = text and cjson.decode(text)[${channelFieldPosition('broadcastVersion')}] or false
  end
  return broadcast[channelKey]
end
for first = 3, #KEYS, ${STAMP_KEYS_PER_USER} do
  local stamp = redis.call('HGET', KEYS[first], ARGV[1]) or '0'
  for _, channelKey in ipairs(redis.call('SMEMBERS', KEYS[first + 1])) do
    local version = broadcastVersion(channelKey)
    if version and below(stamp, version) then stamp = version end
  end
  local top = redis.call('ZREVRANGE', KEYS[first + 2], 0, 0, 'WITHSCORES')
  answer[#answer + 1] = stamp
  answer[#answer + 1] = top[2] and string.format('%.0f', tonumber(top[2])) or '0'
end
return answer`;

/**
 * The index part of a sync's read (see @cs/domain SyncReadPlan) and the
 * records it names, atomic (ENTRY moves a record and its index entry
 * together, so a page never skips or repeats a conversation whose record
 * changes meanwhile): false when Redis is not complete or W is unknown, else
 * {W (read first), large groups, first rank, channel keys read, the records
 * of those keys and of the large groups}. KEYS: frontier, complete marker,
 * the user's large groups, the index (by version for 'changed', by time for
 * 'ranked'), the user's conversations hash. On a cluster KEYS[1] is the
 * slot's complete marker again (= KEYS[2]): W was read before, from its own
 * slot, and '' stands in for it. ARGV: 'changed' and the lowest score
 * excluded, or 'ranked', from, count.
 */
export const READ_INDEX_SCRIPT = `${DECIMAL_BELOW_LUA}${FRONTIER_LUA}
local w = ''
if KEYS[1] ~= KEYS[2] then
  w = frontier()
  if not w then return false end
end
if redis.call('EXISTS', KEYS[2]) == 0 then return false end
local large = redis.call('SMEMBERS', KEYS[3])
local first, keys = 0, {}
if ARGV[1] == 'changed' then
  keys = redis.call('ZRANGEBYSCORE', KEYS[4], '(' .. ARGV[2], '+inf')
else
  local from, count = tonumber(ARGV[2]), tonumber(ARGV[3])
  first = math.max(0, from - #large)
  for i, member in ipairs(redis.call('ZREVRANGE', KEYS[4], first, from + count - 1)) do keys[i] = string.sub(member, ${TIME_MEMBER_DIGITS + 1}) end
end
local records = {}
for _, wanted in ipairs({keys, large}) do
  for _, channelKey in ipairs(wanted) do
    local record = redis.call('HGET', KEYS[5], channelKey)
    if record then records[#records + 1] = record end
  end
end
return {w, large, first, keys, records}`;
