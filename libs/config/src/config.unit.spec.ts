import { loadConfig } from './config';

describe('RECENT_MESSAGES_KEPT', () => {
  it.each([
    { value: undefined, kept: 100 },
    { value: '50', kept: 50 },
    { value: '5000', kept: 5000 },
  ])('$value keeps $kept messages per window', ({ value, kept }) => {
    expect(loadConfig({ RECENT_MESSAGES_KEPT: value }).recentMessagesKept).toBe(kept);
  });

  it.each(['49', '0', '-1', 'many', '1.5'])('%s is refused, naming the variable and the range', (value) => {
    expect(() => loadConfig({ RECENT_MESSAGES_KEPT: value })).toThrow(
      `Invalid configuration: RECENT_MESSAGES_KEPT must be an integer in 50..100000, got ${JSON.stringify(value)}`,
    );
  });
});

describe('REDIS_URL and REDIS_KEY_PREFIX', () => {
  it.each([
    { value: 'redis://cache:6379/2', prefix: undefined, url: 'redis://cache:6379/2', keyPrefix: '' },
    { value: 'redis+cluster://10.0.0.1:7001,10.0.0.2:7001', prefix: 'prod:', url: 'redis+cluster://10.0.0.1:7001,10.0.0.2:7001', keyPrefix: 'prod:' },
    { value: 'redis+cluster://user:pw@h1:7001', prefix: '', url: 'redis+cluster://user:pw@h1:7001', keyPrefix: '' },
  ])('$value with prefix $prefix is a Redis to use', ({ value, prefix, url, keyPrefix }) => {
    const config = loadConfig({ REDIS_URL: value, REDIS_KEY_PREFIX: prefix });
    expect({ url: config.redisUrl, keyPrefix: config.redisKeyPrefix }).toEqual({ url, keyPrefix });
  });

  it.each([
    ['REDIS_URL', { REDIS_URL: 'redis+cluster://h1' }, 'must be redis+cluster://host:port[,host:port...] for a cluster, got "redis+cluster://h1"'],
    ['REDIS_URL', { REDIS_URL: 'redis+cluster://h1:7001,,h2:7002' }, 'must be redis+cluster://host:port[,host:port...] for a cluster'],
    ['REDIS_URL', { REDIS_URL: 'http://h1:6379' }, 'must start with redis: or rediss: or redis+cluster://'],
    ['REDIS_KEY_PREFIX', { REDIS_KEY_PREFIX: 'a b' }, 'must be at most 64 of A-Z a-z 0-9 : . _ -, got "a b"'],
  ])('%s %j is refused, naming the variable', (variable, env, problem) => {
    expect(() => loadConfig(env)).toThrow(`Invalid configuration: ${variable} ${problem}`);
  });
});
