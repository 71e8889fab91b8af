/**
 * The numbers the apps are tuned with, in one place. Those an operator may
 * need to change are settings (`loadConfig`, README "Configuration") and take
 * their defaults from here; the rest are fixed by how the service works.
 */
export const TUNING = {
  /** SIGTERM: an app still stopping after this exits 1 (below an orchestrator's usual 10 s+ grace). Setting: SHUTDOWN_TIMEOUT_MS. */
  shutdownTimeoutMs: 9_000,
  /** How long start-up waits for PostgreSQL and Kafka before giving up. */
  startupTimeoutMs: 60_000,

  postgres: {
    /** Connections per process. Setting: PG_POOL_SIZE. The API serves many requests at once; the consumer has its batches in flight, the closer and a repair. */
    apiPoolSize: 20,
    consumerPoolSize: 10,
    connectTimeoutMs: 3_000,
    /** The consumer's batches and rebuilds may write a lot in one statement. */
    statementTimeoutMs: 30_000,
    /** The API's reads: a sync must fail fast (and fall back or answer 503) rather than hang. */
    apiStatementTimeoutMs: 5_000,
    apiQueryTimeoutMs: 6_000,
    /** A consumer frozen inside a transaction loses its session (and its partition's row lock) after this. Setting: PG_IDLE_IN_TRANSACTION_TIMEOUT_MS. */
    idleInTransactionTimeoutMs: 10_000,
    /**
     * While ingesting, a plain VACUUM of messages and conversations this often, so the rows batches leave dead are
     * reused (autovacuum visits at most once per server-wide naptime). Setting: POSTGRES_VACUUM_INTERVAL_MS.
     */
    vacuumIntervalMs: 1_000,
  },

  redis: {
    commandTimeoutMs: 2_000,
    connectTimeoutMs: 2_000,
    maxReconnectDelayMs: 1_000,
  },

  kafka: {
    connectionTimeoutMs: 3_000,
    requestTimeoutMs: 10_000,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5_000 },
  },

  ingest: {
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
    rebalanceTimeoutMs: 20_000,
    /** How often the consumer refreshes the topic's metadata, and so how soon it sees partitions added (kafkajs' default: 5 minutes). */
    metadataMaxAgeMs: 10_000,
    /** The consumer never gives up on Kafka: it stays in its group until Kafka is back. */
    consumerRetry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 5_000 },
    /** Partitions whose batches write and commit side by side. Setting: KAFKA_PARTITIONS_IN_FLIGHT. */
    partitionsInFlight: 4,
    /** Bounds a batch, and so the consumer's memory: ~2,000 typical events. Setting: KAFKA_MAX_BYTES_PER_PARTITION. */
    maxBytesPerPartition: 512 * 1024,
    /** A whole fetch holds at most this many partitions' worth. */
    partitionsPerFetch: 4,
    /** A failed batch is retried after 100 ms, doubling up to this. */
    maxBatchRetryDelayMs: 5_000,
    /** How often the consumer checks whether Redis lost its data (and rebuilds it from PostgreSQL). */
    cacheRepairIntervalMs: 2_000,
  },

  /** Rendered sync answers kept per API instance, served as bytes while the user's stamp holds. Setting: ANSWER_CACHE_BYTES. */
  answerCacheBytes: 64 * 1024 * 1024,
} as const;
