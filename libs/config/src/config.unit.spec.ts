import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from './config';
import { TUNING } from './tuning';

describe('loadConfig', () => {
  it('gives every default for an empty environment', () => {
    expect(loadConfig({})).toEqual({
      kafkaBrokers: ['127.0.0.1:9092'],
      kafkaTopic: 'im.events',
      kafkaDlqTopic: 'im.events.dlq',
      kafkaGroupId: 'conversation-sync',
      kafkaPartitions: 3,
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/conversation_sync',
      redisUrl: 'redis://127.0.0.1:6379/0',
      redisKeyPrefix: '',
      apiPort: 5001,
      consumerHttpPort: 5002,
      apiToken: null,
      logLevel: 'info',
      commandTimeoutMs: 5000,
      apiUserHeader: null,
      answerCacheBytes: TUNING.answerCacheBytes,
      pgPoolSize: null,
      kafkaPartitionsInFlight: 4,
      kafkaMaxBytesPerPartition: 512 * 1024,
      shutdownTimeoutMs: 9000,
      pgIdleInTransactionTimeoutMs: 10000,
      recentMessagesKept: 100,
      smallGroupMaxMembers: 200,
      postgresVacuumIntervalMs: 1000,
    });
  });

  // given the environment, then these fields
  it.each<[string, Record<string, string>, Record<string, unknown>]>([
    ['brokers, trimmed', { KAFKA_BROKERS: ' k1:9092, k2:9093 ' }, { kafkaBrokers: ['k1:9092', 'k2:9093'] }],
    ['the DLQ topic follows the topic', { KAFKA_TOPIC: 'chat.events' }, { kafkaTopic: 'chat.events', kafkaDlqTopic: 'chat.events.dlq' }],
    ['an explicit DLQ topic', { KAFKA_TOPIC: 'a', KAFKA_DLQ_TOPIC: 'b' }, { kafkaDlqTopic: 'b' }],
    ['a blank value is the default', { KAFKA_GROUP_ID: '   ', API_PORT: '' }, { kafkaGroupId: 'conversation-sync', apiPort: 5001 }],
    ['postgresql:// and rediss:// URLs', { DATABASE_URL: 'postgresql://u@db/x', REDIS_URL: 'rediss://cache:6380/2' }, { databaseUrl: 'postgresql://u@db/x', redisUrl: 'rediss://cache:6380/2' }],
    ['a token, kept as it is', { API_TOKEN: ' s3cret ' }, { apiToken: ' s3cret ' }],
    ['the user header, lower-cased', { API_USER_HEADER: 'X-User-Id' }, { apiUserHeader: 'x-user-id' }],
    ['a log level', { LOG_LEVEL: 'debug' }, { logLevel: 'debug' }],
    ['ports and partitions', { API_PORT: '8080', CONSUMER_HTTP_PORT: '8081', KAFKA_PARTITIONS: '12' }, { apiPort: 8080, consumerHttpPort: 8081, kafkaPartitions: 12 }],
    ['command timeout', { COMMAND_TIMEOUT_MS: '100' }, { commandTimeoutMs: 100 }],
    ['no answer cache', { ANSWER_CACHE_BYTES: '0' }, { answerCacheBytes: 0 }],
    ['a pool size for either app', { PG_POOL_SIZE: '4' }, { pgPoolSize: 4 }],
    ['fetch limits', { KAFKA_PARTITIONS_IN_FLIGHT: '3', KAFKA_MAX_BYTES_PER_PARTITION: '1048576' }, { kafkaPartitionsInFlight: 3, kafkaMaxBytesPerPartition: 1048576 }],
    ['shutdown timeout', { SHUTDOWN_TIMEOUT_MS: '25000' }, { shutdownTimeoutMs: 25000 }],
    ['idle-in-transaction timeout', { PG_IDLE_IN_TRANSACTION_TIMEOUT_MS: '2000' }, { pgIdleInTransactionTimeoutMs: 2000 }],
    ['the smallest retention window', { RECENT_MESSAGES_KEPT: '50' }, { recentMessagesKept: 50 }],
    ['a larger retention window', { RECENT_MESSAGES_KEPT: '5000' }, { recentMessagesKept: 5000 }],
    ['every group fanned out to none (all large)', { SMALL_GROUP_MAX_MEMBERS: '0' }, { smallGroupMaxMembers: 0 }],
    ['a larger small-group line', { SMALL_GROUP_MAX_MEMBERS: '1000' }, { smallGroupMaxMembers: 1000 }],
  ])('%s', (_case, env, expected) => {
    expect(loadConfig(env)).toMatchObject(expected);
  });

  // given a bad value, then a ConfigError naming the variable and saying what it must be
  it.each<[Record<string, string>, string]>([
    [{ KAFKA_BROKERS: 'localhost' }, 'KAFKA_BROKERS must be a comma-separated list of host:port, got "localhost"'],
    [{ KAFKA_BROKERS: 'a:1,,b:2' }, 'KAFKA_BROKERS must be a comma-separated list of host:port, got ""'],
    [{ KAFKA_TOPIC: 'bad topic!' }, 'KAFKA_TOPIC must be a Kafka topic name'],
    [{ KAFKA_DLQ_TOPIC: 'x'.repeat(250) }, 'KAFKA_DLQ_TOPIC must be a Kafka topic name'],
    [{ KAFKA_PARTITIONS: '0' }, 'KAFKA_PARTITIONS must be an integer in 1..1000, got "0"'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL must be a URL'],
    [{ DATABASE_URL: 'mysql://db/x' }, 'DATABASE_URL must start with postgres: or postgresql://'],
    [{ REDIS_URL: 'http://127.0.0.1:6379' }, 'REDIS_URL must start with redis: or rediss: or redis+cluster://'],
    [{ API_PORT: 'abc' }, 'API_PORT must be an integer in 1..65535, got "abc"'],
    [{ CONSUMER_HTTP_PORT: '65536' }, 'CONSUMER_HTTP_PORT must be an integer in 1..65535'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of error, warn, info, debug, got "loud"'],
    [{ COMMAND_TIMEOUT_MS: '99' }, 'COMMAND_TIMEOUT_MS must be an integer in 100..600000'],
    [{ API_USER_HEADER: 'not a header' }, 'API_USER_HEADER must be an HTTP header name'],
    [{ ANSWER_CACHE_BYTES: '-1' }, 'ANSWER_CACHE_BYTES must be an integer'],
    [{ PG_POOL_SIZE: '0' }, 'PG_POOL_SIZE must be an integer in 1..1000'],
    [{ KAFKA_PARTITIONS_IN_FLIGHT: '1.5' }, 'KAFKA_PARTITIONS_IN_FLIGHT must be an integer'],
    [{ KAFKA_MAX_BYTES_PER_PARTITION: '512' }, 'KAFKA_MAX_BYTES_PER_PARTITION must be an integer in 1024..67108864'],
    [{ SHUTDOWN_TIMEOUT_MS: '9s' }, 'SHUTDOWN_TIMEOUT_MS must be an integer'],
    [{ RECENT_MESSAGES_KEPT: '49' }, 'RECENT_MESSAGES_KEPT must be an integer in 50..100000, got "49"'],
    [{ RECENT_MESSAGES_KEPT: '1.5' }, 'RECENT_MESSAGES_KEPT must be an integer in 50..100000, got "1.5"'],
    [{ SMALL_GROUP_MAX_MEMBERS: '-1' }, 'SMALL_GROUP_MAX_MEMBERS must be an integer in 0..100000, got "-1"'],
  ])('rejects %j', (env, message) => {
    const variable = Object.keys(env)[0];
    let thrown: unknown;
    try {
      loadConfig(env);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).variable).toBe(variable);
    expect((thrown as ConfigError).message).toContain(`Invalid configuration: ${message}`);
  });

  it('has every variable documented in the README configuration table', () => {
    const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## HTTP endpoints'));
    const documented = [...table.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((match) => match[1]);
    expect([...documented].sort()).toEqual([...CONFIG_VARIABLES].sort());
  });
});

describe('POSTGRES_VACUUM_INTERVAL_MS', () => {
  it.each([
    { value: undefined, ms: 1000 },
    { value: '0', ms: 0 },
    { value: '250', ms: 250 },
  ])('$value vacuums every $ms ms (0: never)', ({ value, ms }) => {
    expect(loadConfig({ POSTGRES_VACUUM_INTERVAL_MS: value }).postgresVacuumIntervalMs).toBe(ms);
  });

  it.each(['-1', 'often', '3600001'])('%s is refused, naming the variable and the range', (value) => {
    expect(() => loadConfig({ POSTGRES_VACUUM_INTERVAL_MS: value })).toThrow(
      `Invalid configuration: POSTGRES_VACUUM_INTERVAL_MS must be an integer in 0..3600000, got ${JSON.stringify(value)}`,
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
    ['REDIS_KEY_PREFIX', { REDIS_KEY_PREFIX: 'a b' }, 'must be at most 64 of A-Z a-z 0-9 : . _ -, got "a b"'],
  ])('%s %j is refused, naming the variable', (variable, env, problem) => {
    expect(() => loadConfig(env)).toThrow(`Invalid configuration: ${variable} ${problem}`);
  });
});
