import Redis, { RedisOptions } from 'ioredis';

/**
 * The Redis key layout, in one place. Ids are hex-encoded inside the hash tag:
 * any character an id holds ('{', ':', spaces, CJK) can neither collide with
 * another id nor move the hash slot, and everything one user's or one channel's
 * operation touches shares a slot.
 */
export const redisKeys = {
  /** Highest version whose batch is completely written. */
  watermark: 'cs:watermark',
  /** Present while Redis holds everything PostgreSQL does; absent after a flush until rebuilt. Versioned with the layout: data of an older layout gets rebuilt. */
  complete: 'cs:complete:3',
  /** Prefix of every key this service owns. */
  pattern: 'cs:*',
  /**
   * Hash: channel key -> conversation record, plus the field STAMP_FIELD: the
   * highest version among the user's records (decimal). Channel keys are JSON
   * arrays, so they never equal it.
   */
  userConversations: (uid: string) => `cs:{u:${hex(uid)}}:conversations`,
  /** Set: channel keys of the channels the user is currently a member of. */
  userGroups: (uid: string) => `cs:{u:${hex(uid)}}:groups`,
  /** String: channel record. */
  channel: (channelKey: string) => `cs:{c:${hex(channelKey)}}:channel`,
  /**
   * Sorted set: score = seq (≤ 2^53, exact as a double), member = message record.
   * A replay after a failed commit may add a second member for a seq: readers keep the first per seq.
   */
  channelMessages: (channelKey: string) => `cs:{c:${hex(channelKey)}}:messages`,
};

export const STAMP_FIELD = 'stamp';

function hex(id: string): string {
  return Buffer.from(id, 'utf8').toString('hex');
}

export function createRedis(redisUrl: string, options: RedisOptions = {}): Redis {
  const redis = new Redis(redisUrl, {
    // Fail fast while Redis is away: callers fall back to PostgreSQL or retry the batch.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 2_000,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
    ...options,
  });
  redis.on('error', () => undefined);
  return redis;
}

/**
 * Runs ARGV[1], a JSON array of commands, atomically; returns whether KEYS[1]
 * (the complete marker) existed before. A command ['RAISE', key, field, decimal]
 * sets the hash field only if it does not already hold a larger decimal: versions are compared
 * as decimal strings (longer is larger), never as doubles. Scores (seqs ≤ 2^53)
 * are exact as cjson's doubles.
 */
export const APPLY_COMMANDS_SCRIPT = `
local complete = redis.call('EXISTS', KEYS[1])
for _, command in ipairs(cjson.decode(ARGV[1])) do
  if command[1] == 'RAISE' then
    local current = redis.call('HGET', command[2], command[3])
    local value = command[4]
    if (not current) or (#value > #current) or (#value == #current and value > current) then
      redis.call('HSET', command[2], command[3], value)
    end
  else
    redis.call(unpack(command))
  end
end
return complete`;
