import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { TUNING, configOrExit, loadConfig, retryUntil } from '@cs/config';
import { Logger, createLogger } from '@cs/observability';
import { createKafka, ensureTopics } from '@cs/kafka';
import {
  ProjectionCache,
  ProjectionRepository,
  VacuumRepository,
  createPool,
  createRedis,
  setRedisKeyPrefix,
  migrate,
  postgresAnswers,
  redisAnswers,
} from '@cs/storage';
import { createMetricsRegistry } from '@cs/observability';
import { ConsumerModule } from './consumer.module';
import { BatchApplier, BatchApplierHooks, DeadLetterPublisher, FrontierCloser } from '@cs/ingest';
import { IngestMetrics } from './ingest/ingest-metrics';
import { KafkaIngest, eachListener } from './ingest/kafka-ingest';
import { MessageVacuum } from './ingest/message-vacuum';

/** Composition root: starts everything in order, stops it in reverse on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const config = configOrExit(() => loadConfig());
  const log = createLogger('consumer', config.logLevel);

  const retrying = (step: string) => (error: unknown) => log.warn(`${step} failed, retrying`, { error });
  await retryUntil('migrate', () => migrate(config.databaseUrl), retrying('migrate'));
  // A consumer frozen inside a transaction (SIGSTOP, a long GC) loses its session, and so its
  // partition's row lock, after this long; its late Redis writes are then refused (see ENTRY and SPUT).
  const pool = createPool(config.databaseUrl, {
    max: config.pgPoolSize ?? Math.max(TUNING.postgres.consumerPoolSize, config.kafkaPartitionsInFlight * 2 + 2),
    idle_in_transaction_session_timeout: config.pgIdleInTransactionTimeoutMs,
  });
  setRedisKeyPrefix(config.redisKeyPrefix);
  const redis = createRedis(config.redisUrl);
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: 'conversation-sync-consumer', log: (level, msg, extra) => log[level](msg, extra) });
  await retryUntil('create topics', () => ensureTopics(kafka, [
    { topic: config.kafkaTopic, numPartitions: config.kafkaPartitions },
    { topic: config.kafkaDlqTopic, numPartitions: 1 },
  ]), retrying('create topics'));

  const deadLetters = new DeadLetterPublisher(kafka, config.kafkaDlqTopic, config.kafkaGroupId);
  await retryUntil('connect to Kafka', () => deadLetters.connect(), retrying('connect to Kafka'));
  const projections = new ProjectionRepository(pool);
  const cache = new ProjectionCache(redis);
  const applier = new BatchApplier(
    pool,
    projections,
    cache,
    config.kafkaGroupId,
    (topic, partition, letters) => deadLetters.publish(topic, partition, letters),
    config.recentMessagesKept,
    config.smallGroupMaxMembers,
    testHooks(log),
  );
  const registry = createMetricsRegistry('consumer');
  const metrics = new IngestMetrics(registry, log);
  const vacuum = new MessageVacuum(new VacuumRepository(pool), config.postgresVacuumIntervalMs, log);
  const ingest = new KafkaIngest(kafka, config.kafkaTopic, config.kafkaGroupId, applier, eachListener(metrics, vacuum), {
    maxBytesPerPartition: config.kafkaMaxBytesPerPartition,
    partitionsInFlight: config.kafkaPartitionsInFlight,
  });
  const admin = kafka.admin();
  await retryUntil('connect the Kafka admin', () => admin.connect(), retrying('connect the Kafka admin'));
  const closer = new FrontierCloser(projections, cache, {
    groupId: config.kafkaGroupId,
    topic: config.kafkaTopic,
    partitionCount: async () => (await admin.fetchTopicMetadata({ topics: [config.kafkaTopic] })).topics[0]?.partitions.length ?? 0,
    onFrontier: (frontier) => metrics.frontierClosed(frontier),
    onError: (error) => log.debug('closing idle partitions failed, will retry', { error }),
  });

  const readiness = [
    { name: 'postgres', check: postgresAnswers(pool) },
    { name: 'redis', check: redisAnswers(redis) },
    { name: 'kafka', check: async () => ingest.isJoined },
  ];
  const app = await NestFactory.create<NestFastifyApplication>(ConsumerModule.register(registry, readiness), new FastifyAdapter(), {
    logger: false,
    abortOnError: false,
  });
  await app.listen(config.consumerHttpPort, '0.0.0.0');
  closer.start();
  await ingest.start();
  vacuum.start();
  let repairing = false;
  const cacheRepair = setInterval(() => {
    if (repairing) return;
    repairing = true;
    applier
      .repairCacheIfIncomplete(config.kafkaTopic)
      .then(
        (rebuilt) => rebuilt && log.info('redis was incomplete: rebuilt from PostgreSQL'),
        (error) => log.debug('redis repair failed, will retry', { error }),
      )
      .finally(() => (repairing = false));
  }, TUNING.ingest.cacheRepairIntervalMs);
  log.info('consumer started', { topic: config.kafkaTopic, groupId: config.kafkaGroupId, httpPort: config.consumerHttpPort });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    const forced = setTimeout(() => process.exit(1), config.shutdownTimeoutMs);
    clearInterval(cacheRepair);
    closer.stop();
    await ingest.stop().catch((error) => log.error('leaving the group failed', { error }));
    await vacuum.stop();
    await admin.disconnect().catch(() => undefined);
    await deadLetters.disconnect();
    await app.close().catch(() => undefined);
    await Promise.allSettled([pool.end(), redis.quit()]);
    clearTimeout(forced);
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/**
 * CS_TEST_PAUSE_BEFORE_PUBLISH_MS (test only, off by default): after each commit, log and wait this long before publishing the closed version.
 */
function testHooks(log: Logger): BatchApplierHooks {
  const pauseMs = Number(process.env.CS_TEST_PAUSE_BEFORE_PUBLISH_MS ?? 0);
  if (!(pauseMs > 0)) return {};
  return {
    beforePublish: async (partition) => {
      log.info('paused before publishing closed version', { partition, pauseMs });
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    },
  };
}

main().catch((error) => {
  process.stderr.write(`consumer failed to start: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
