import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import Redis, { Cluster } from 'ioredis';
import { Admin, Kafka, Producer, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { channelKeyOfRaw } from '@cs/events';
import { createKeyedProducer } from '@cs/kafka';
import { ProjectionCache } from '../../libs/storage/src/redis/projection.cache';
import { RedisClient, createRedis, frontierOf, redisKeys, setRedisKeyPrefix, slotOf, unlinkMatching } from '../../libs/storage/src/redis/redis-layout';
import { stringifyExact } from './json';
import { waitFor } from './wait-for';

const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_HOST_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** A Redis Cluster to run against instead (`redis+cluster://host:port,...`): each file then keeps to its own key prefix (REDIS_KEY_PREFIX), since a cluster has no dbs to hand out. */
const REDIS_CLUSTER_URL = process.env.TEST_REDIS_CLUSTER_URL;

/**
 * One test file's private world: its own topic, consumer group, database and
 * Redis db (or, on a Redis Cluster, key prefix), so files run side by side and
 * leave nothing behind.
 */
export class TestEnvironment {
  readonly topic: string;
  readonly dlqTopic: string;
  readonly groupId: string;
  readonly databaseName: string;
  readonly kafka: Kafka;
  redisDb = -1;
  /** On a Redis Cluster: the prefix of every key this file's apps write. */
  readonly redisKeyPrefix: string;
  private producer?: Promise<Producer>;
  private admin?: Admin;
  private redisClient?: RedisClient;

  constructor(readonly name: string, readonly partitions = 3) {
    const suffix = `${name.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
    this.topic = `test.${suffix}`;
    this.dlqTopic = `${this.topic}.dlq`;
    this.groupId = `test-${suffix}`;
    this.databaseName = `cs_test_${suffix}`;
    this.redisKeyPrefix = REDIS_CLUSTER_URL ? `t-${suffix}:` : '';
    this.kafka = new Kafka({ clientId: `test-${name}`, brokers: BROKERS, logLevel: logLevel.NOTHING });
  }

  get databaseUrl(): string {
    return `postgres://postgres@127.0.0.1:5432/${this.databaseName}`;
  }

  get redisUrl(): string {
    return REDIS_CLUSTER_URL ?? `${REDIS_HOST_URL}/${this.redisDb}`;
  }

  /** REDIS_URL (and on a cluster REDIS_KEY_PREFIX) for apps that use this file's Redis. */
  redisEnv(): Record<string, string> {
    return { REDIS_URL: this.redisUrl, ...(REDIS_CLUSTER_URL ? { REDIS_KEY_PREFIX: this.redisKeyPrefix } : {}) };
  }

  /** Environment variables for the apps under test. */
  appEnv(extra: Record<string, string> = {}): Record<string, string> {
    return {
      KAFKA_BROKERS: BROKERS.join(','),
      KAFKA_TOPIC: this.topic,
      KAFKA_DLQ_TOPIC: this.dlqTopic,
      KAFKA_GROUP_ID: this.groupId,
      KAFKA_PARTITIONS: String(this.partitions),
      DATABASE_URL: this.databaseUrl,
      ...this.redisEnv(),
      LOG_LEVEL: 'warn',
      ...extra,
    };
  }

  async setUp(): Promise<void> {
    if (REDIS_CLUSTER_URL) {
      // This process's redisKeys name the same keys as the apps'.
      setRedisKeyPrefix(this.redisKeyPrefix);
      this.redisClient = createRedis(REDIS_CLUSTER_URL, { enableOfflineQueue: true, maxRetriesPerRequest: 3 });
    } else {
      this.redisDb = await claimRedisDb(this.name);
      this.redisClient = new Redis(this.redisUrl, { lazyConnect: false });
    }
    await this.clearRedis();
    this.admin = this.kafka.admin();
    await this.admin.connect();
    const topics = [
      { topic: this.topic, numPartitions: this.partitions },
      { topic: this.dlqTopic, numPartitions: 1 },
    ];
    // A broker that has just started can refuse, or answer metadata for a new topic with "does not
    // host this topic-partition" for a moment (kafkajs' waitForLeaders gives up on that): retry both.
    await waitFor('the test topics to be created', async () => (await this.admin!.createTopics({ topics }), true), 30_000);
    await waitFor(
      'the test topics to have leaders',
      async () => {
        const metadata = await this.admin!.fetchTopicMetadata({ topics: topics.map((t) => t.topic) });
        return metadata.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
      },
      30_000,
    );
  }

  async tearDown(): Promise<void> {
    await this.producer?.then((producer) => producer.disconnect()).catch(() => undefined);
    await this.admin?.deleteTopics({ topics: [this.topic, this.dlqTopic] }).catch(() => undefined);
    await this.admin?.deleteGroups([this.groupId, `${this.groupId}.dead-letters`]).catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
    if (this.redisClient) {
      await this.clearRedis().catch(() => undefined);
      this.redisClient.disconnect();
    }
    await releaseRedisDb(this.redisDb);
    await withPostgres((client) => client.query(`DROP DATABASE IF EXISTS "${this.databaseName}" WITH (FORCE)`)).catch(() => undefined);
  }

  get redis(): RedisClient {
    return this.redisClient!;
  }

  /** Everything of this file's in Redis: its db, or on a cluster its key prefix. */
  private async clearRedis(): Promise<void> {
    if (REDIS_CLUSTER_URL) await unlinkMatching(this.redis, `${this.redisKeyPrefix}*`);
    else await (this.redis as Redis).flushdb();
  }

  /**
   * Loses what this file's apps keep in Redis, as FLUSHDB (or a restart
   * without persistence) does. On a cluster: what one master holds — one
   * that does not serve the global keys, so only its slots' markers tell.
   */
  async flushRedis(): Promise<void> {
    if (!(this.redis instanceof Cluster)) return void (await this.redis.flushdb());
    const globalMaster = this.redis.slots[slotOf(redisKeys.complete)][0];
    const victim = this.redis.nodes('master').find((node) => `${node.options.host}:${node.options.port}` !== globalMaster)!;
    await unlinkMatching(this.redis, `${this.redisKeyPrefix}*`, [victim]);
  }

  /** Whether the apps' Redis holds everything PostgreSQL does, as the consumer's repair check sees it. */
  async redisIsComplete(): Promise<boolean> {
    return new ProjectionCache(this.redis).isComplete();
  }

  /**
   * Publishes events (objects; bigint fields written as bare integers, strings sent as they are),
   * each record keyed by its event's channel as producers are told to (null when a value names no
   * channel), on `partition` when one is given.
   */
  async produce(events: (object | string)[], partition?: number): Promise<void> {
    this.producer ??= (async () => {
      const producer = createKeyedProducer(this.kafka);
      await producer.connect();
      return producer;
    })();
    await (await this.producer).send({
      topic: this.topic,
      acks: -1,
      messages: events.map((event) => ({ key: recordKeyOf(event), partition, value: typeof event === 'string' ? event : stringifyExact(event) })),
    });
  }

  /**
   * Publishes events and waits until the consumer applied them, in the order given: each run of
   * one channel's events is keyed by that channel (so it applies in order) and applied before the next run.
   */
  async produceAndWait(...events: (object | string)[]): Promise<void> {
    for (const run of runsByKey(events)) {
      await this.produce(run);
      await this.waitUntilApplied();
    }
  }

  /**
   * Waits until the consumer has applied everything produced so far (its
   * checkpoints reach the topic's end offsets, read by a fresh admin client:
   * one that cached the topic's metadata would not know of partitions added
   * since) and W has passed it (Redis's
   * frontier is at or above every version handed out): answers then report
   * every conversation at its own version.
   */
  async waitUntilApplied(timeoutMs = 30_000): Promise<void> {
    await this.waitUntilCheckpointsReachEnds(timeoutMs);
    await waitFor(
      'W (the frontier in Redis) to pass every version handed out',
      () =>
        withDatabase(this.databaseUrl, async (client) => {
          const { rows } = await client.query<{ highest: string | null }>(
            'SELECT max(last_version)::text AS highest FROM consumer_checkpoints WHERE group_id = $1 AND topic = $2',
            [this.groupId, this.topic],
          );
          const frontier = frontierOf(Object.entries(await this.redis.hgetall(redisKeys.frontier)).flat());
          return frontier !== null && frontier >= BigInt(rows[0].highest ?? '0');
        }),
      timeoutMs,
    );
  }

  private async waitUntilCheckpointsReachEnds(timeoutMs: number): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(this.topic).finally(() => admin.disconnect());
    await waitFor(
      'the consumer to apply every produced event',
      () =>
        withDatabase(this.databaseUrl, async (client) => {
          const { rows } = await client.query<{ partition: number; next_offset: string }>(
            'SELECT partition, next_offset FROM consumer_checkpoints WHERE group_id = $1 AND topic = $2',
            [this.groupId, this.topic],
          );
          const applied = new Map(rows.map((r) => [r.partition, BigInt(r.next_offset)]));
          return ends.every((end) => BigInt(end.high) === 0n || (applied.get(end.partition) ?? 0n) >= BigInt(end.high));
        }),
      timeoutMs,
    );
  }

  /** Reads the dead-letter topic from the start until `count` records arrived. */
  async readDeadLetters(count: number, timeoutMs = 20_000) {
    const consumer = this.kafka.consumer({ groupId: `${this.groupId}-dlq-reader-${randomBytes(3).toString('hex')}` });
    const letters: { key: string | null; value: string | null; headers: Record<string, string> }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: this.dlqTopic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
        letters.push({ key: message.key?.toString() ?? null, value: message.value?.toString() ?? null, headers });
      },
    });
    try {
      await waitFor(`${count} dead letters`, () => letters.length >= count, timeoutMs);
      return letters;
    } finally {
      await consumer.disconnect();
    }
  }
}

/** The record key a producer following the contract gives this value: its channel's key, or null if it names none. */
export function recordKeyOf(event: object | string): string | null {
  if (typeof event !== 'string') return channelKeyOfRaw(event);
  try {
    return channelKeyOfRaw(JSON.parse(event));
  } catch {
    return null;
  }
}

function runsByKey(events: (object | string)[]): (object | string)[][] {
  const runs: (object | string)[][] = [];
  events.forEach((event, i) => {
    if (i > 0 && recordKeyOf(event) === recordKeyOf(events[i - 1])) runs[runs.length - 1].push(event);
    else runs.push([event]);
  });
  return runs;
}

export async function withDatabase<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function withPostgres<T>(work: (client: Client) => Promise<T>): Promise<T> {
  return withDatabase(POSTGRES_ADMIN_URL, work);
}

/** Redis dbs 1..15 are handed out to test files through a lease key in db 0, so concurrent files never share one. */
async function claimRedisDb(owner: string): Promise<number> {
  const redis = new Redis(`${REDIS_HOST_URL}/0`);
  try {
    return await waitFor('a free Redis db for tests', async () => {
      for (let db = 1; db <= 15; db++) {
        if ((await redis.set(`cs-test-db-lease:${db}`, owner, 'EX', 1800, 'NX')) === 'OK') return db;
      }
      return undefined;
    }, 60_000);
  } finally {
    redis.disconnect();
  }
}

async function releaseRedisDb(db: number): Promise<void> {
  if (db < 0) return;
  const redis = new Redis(`${REDIS_HOST_URL}/0`);
  await redis.del(`cs-test-db-lease:${db}`).catch(() => undefined);
  redis.disconnect();
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
