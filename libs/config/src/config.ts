import { TUNING } from './tuning';

/** Every environment variable the apps read, validated at start-up. */
export const CONFIG_VARIABLES = [
  'KAFKA_BROKERS',
  'KAFKA_TOPIC',
  'KAFKA_DLQ_TOPIC',
  'KAFKA_GROUP_ID',
  'KAFKA_PARTITIONS',
  'DATABASE_URL',
  'REDIS_URL',
  'API_PORT',
  'CONSUMER_HTTP_PORT',
  'API_TOKEN',
  'LOG_LEVEL',
  'COMMAND_TIMEOUT_MS',
  'API_USER_HEADER',
  'RECENT_MESSAGES_KEPT',
  'SMALL_GROUP_MAX_MEMBERS',
  'ANSWER_CACHE_BYTES',
  'PG_POOL_SIZE',
  'KAFKA_PARTITIONS_IN_FLIGHT',
  'KAFKA_MAX_BYTES_PER_PARTITION',
  'SHUTDOWN_TIMEOUT_MS',
  'PG_IDLE_IN_TRANSACTION_TIMEOUT_MS',
  'POSTGRES_VACUUM_INTERVAL_MS',
  'REDIS_KEY_PREFIX',
] as const;

export type ConfigVariable = (typeof CONFIG_VARIABLES)[number];

export interface AppConfig {
  kafkaBrokers: string[];
  kafkaTopic: string;
  kafkaDlqTopic: string;
  kafkaGroupId: string;
  /** Partitions of KAFKA_TOPIC when this service has to create it. */
  kafkaPartitions: number;
  databaseUrl: string;
  /** `redis://` / `rediss://` (one Redis) or `redis+cluster://host:port,host:port` (a Redis Cluster's seed nodes). */
  redisUrl: string;
  /** Put before every Redis key, so deployments (or test files) can share one Redis or cluster. */
  redisKeyPrefix: string;
  apiPort: number;
  consumerHttpPort: number;
  apiToken: string | null;
  logLevel: LogLevel;
  /** How long a conversation command waits for its change to become visible. */
  commandTimeoutMs: number;
  /** Header in which the gateway names the authenticated user (lower case); null = not checked. */
  apiUserHeader: string | null;
  /** Messages each store keeps per channel (and per explicit recipient); at least MAX_MSG_COUNT. */
  recentMessagesKept: number;
  /** Groups with at most this many members fan each message out to their members' indexes; larger ones are read per group (see @cs/domain fan-out.ts). */
  smallGroupMaxMembers: number;
  /** Bytes of rendered answers each API instance keeps. */
  answerCacheBytes: number;
  /** PostgreSQL connections per process; null = the app's own default (TUNING.postgres). */
  pgPoolSize: number | null;
  /** Partition batches the consumer works on at once. */
  kafkaPartitionsInFlight: number;
  /** Largest fetch per partition, so the largest batch. */
  kafkaMaxBytesPerPartition: number;
  /** After SIGTERM, exit 1 if stopping takes longer. */
  shutdownTimeoutMs: number;
  /** The consumer's PostgreSQL sessions end after this long idle inside a transaction (a frozen consumer's row locks are released). */
  pgIdleInTransactionTimeoutMs: number;
  /** How often an ingesting consumer vacuums the messages table retention trims; 0 = never (leave it to autovacuum). */
  postgresVacuumIntervalMs: number;
}

/** A sync returns up to 50 recent messages per conversation (MAX_MSG_COUNT), so every store keeps at least that many. */
const MIN_RECENT_MESSAGES_KEPT = 50;

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class ConfigError extends Error {
  constructor(
    readonly variable: ConfigVariable,
    problem: string,
  ) {
    super(`Invalid configuration: ${variable} ${problem}`);
  }
}

type Env = Record<string, string | undefined>;

/** Reads the configuration; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env): AppConfig {
  const read = (name: ConfigVariable, fallback: string) => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? fallback : value.trim();
  };
  const kafkaTopic = topicName(read('KAFKA_TOPIC', 'im.events'), 'KAFKA_TOPIC');
  return {
    kafkaBrokers: brokerList(read('KAFKA_BROKERS', '127.0.0.1:9092')),
    kafkaTopic,
    kafkaDlqTopic: topicName(read('KAFKA_DLQ_TOPIC', `${kafkaTopic}.dlq`), 'KAFKA_DLQ_TOPIC'),
    kafkaGroupId: nonEmpty(read('KAFKA_GROUP_ID', 'conversation-sync'), 'KAFKA_GROUP_ID'),
    kafkaPartitions: integer(read('KAFKA_PARTITIONS', '3'), 'KAFKA_PARTITIONS', 1, 1000),
    databaseUrl: url(read('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/conversation_sync'), 'DATABASE_URL', ['postgres:', 'postgresql:']),
    redisUrl: redisUrl(read('REDIS_URL', 'redis://127.0.0.1:6379/0')),
    redisKeyPrefix: keyPrefix(env.REDIS_KEY_PREFIX ?? ''),
    apiPort: integer(read('API_PORT', '5001'), 'API_PORT', 1, 65535),
    consumerHttpPort: integer(read('CONSUMER_HTTP_PORT', '5002'), 'CONSUMER_HTTP_PORT', 1, 65535),
    apiToken: env.API_TOKEN ? env.API_TOKEN : null,
    logLevel: oneOf(read('LOG_LEVEL', 'info'), 'LOG_LEVEL', LOG_LEVELS),
    commandTimeoutMs: integer(read('COMMAND_TIMEOUT_MS', '5000'), 'COMMAND_TIMEOUT_MS', 100, 600_000),
    apiUserHeader: headerName(read('API_USER_HEADER', '')),
    recentMessagesKept: integer(read('RECENT_MESSAGES_KEPT', '100'), 'RECENT_MESSAGES_KEPT', MIN_RECENT_MESSAGES_KEPT, 100_000),
    smallGroupMaxMembers: integer(read('SMALL_GROUP_MAX_MEMBERS', '200'), 'SMALL_GROUP_MAX_MEMBERS', 0, 100_000),
    answerCacheBytes: integer(read('ANSWER_CACHE_BYTES', String(TUNING.answerCacheBytes)), 'ANSWER_CACHE_BYTES', 0, 2 ** 34),
    pgPoolSize: optional(read('PG_POOL_SIZE', ''), (value) => integer(value, 'PG_POOL_SIZE', 1, 1000)),
    kafkaPartitionsInFlight: integer(read('KAFKA_PARTITIONS_IN_FLIGHT', String(TUNING.ingest.partitionsInFlight)), 'KAFKA_PARTITIONS_IN_FLIGHT', 1, 1000),
    kafkaMaxBytesPerPartition: integer(
      read('KAFKA_MAX_BYTES_PER_PARTITION', String(TUNING.ingest.maxBytesPerPartition)),
      'KAFKA_MAX_BYTES_PER_PARTITION',
      1024,
      64 * 1024 * 1024,
    ),
    shutdownTimeoutMs: integer(read('SHUTDOWN_TIMEOUT_MS', String(TUNING.shutdownTimeoutMs)), 'SHUTDOWN_TIMEOUT_MS', 100, 600_000),
    pgIdleInTransactionTimeoutMs: integer(
      read('PG_IDLE_IN_TRANSACTION_TIMEOUT_MS', String(TUNING.postgres.idleInTransactionTimeoutMs)),
      'PG_IDLE_IN_TRANSACTION_TIMEOUT_MS',
      1000,
      600_000,
    ),
    postgresVacuumIntervalMs: integer(read('POSTGRES_VACUUM_INTERVAL_MS', String(TUNING.postgres.vacuumIntervalMs)), 'POSTGRES_VACUUM_INTERVAL_MS', 0, 3_600_000),
  };
}

function optional<T>(value: string, parse: (value: string) => T): T | null {
  return value === '' ? null : parse(value);
}

function headerName(value: string): string | null {
  if (value === '') return null;
  if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(value)) throw new ConfigError('API_USER_HEADER', `must be an HTTP header name, got ${JSON.stringify(value)}`);
  return value.toLowerCase();
}

function nonEmpty(value: string, name: ConfigVariable): string {
  if (value === '') throw new ConfigError(name, 'must not be empty');
  return value;
}

function topicName(value: string, name: ConfigVariable): string {
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(value)) throw new ConfigError(name, `must be a Kafka topic name (letters, digits, . _ -), got ${JSON.stringify(value)}`);
  return value;
}

function brokerList(value: string): string[] {
  const brokers = value.split(',').map((broker) => broker.trim());
  for (const broker of brokers) {
    if (!/^[^\s:]+:\d{1,5}$/.test(broker)) {
      throw new ConfigError('KAFKA_BROKERS', `must be a comma-separated list of host:port, got ${JSON.stringify(broker)}`);
    }
  }
  return brokers;
}

function integer(value: string, name: ConfigVariable, min: number, max: number): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed < min || parsed > max) throw new ConfigError(name, `must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
  return parsed;
}

function url(value: string, name: ConfigVariable, protocols: string[]): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(name, `must be a URL, got ${JSON.stringify(value)}`);
  }
  if (!protocols.includes(parsed.protocol)) throw new ConfigError(name, `must start with ${protocols.join(' or ')}//`);
  return value;
}

/** One Redis by URL, or a cluster by its seed nodes: `redis+cluster://[user:password@]host:port[,host:port...]`. */
function redisUrl(value: string): string {
  if (!value.startsWith('redis+cluster:')) return url(value, 'REDIS_URL', ['redis:', 'rediss:', 'redis+cluster:']);
  const nodes = value.slice('redis+cluster://'.length).replace(/^.*@/, '').replace(/\/$/, '');
  if (!value.startsWith('redis+cluster://') || !nodes.split(',').every((node) => /^[^\s:,/@]+:\d{1,5}$/.test(node.trim()))) {
    throw new ConfigError('REDIS_URL', `must be redis+cluster://host:port[,host:port...] for a cluster, got ${JSON.stringify(value)}`);
  }
  return value;
}

function keyPrefix(value: string): string {
  if (!/^[A-Za-z0-9:._-]{0,64}$/.test(value)) throw new ConfigError('REDIS_KEY_PREFIX', `must be at most 64 of A-Z a-z 0-9 : . _ -, got ${JSON.stringify(value)}`);
  return value;
}

function oneOf<T extends string>(value: string, name: ConfigVariable, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

/** Loads the configuration or exits at once naming the bad variable. */
export function configOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
