import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { TUNING, configOrExit, loadConfig, retryUntil } from '@cs/config';
import { createLogger } from '@cs/observability';
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
import { BatchApplier, DeadLetterPublisher } from '@cs/ingest';
import { IngestMetrics } from './ingest/ingest-metrics';
import { KafkaIngest, eachListener } from './ingest/kafka-ingest';
import { MessageVacuum } from './ingest/message-vacuum';

/** Composition root: starts everything in order, stops it in reverse on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const config = configOrExit(() => loadConfig());
  const log = createLogger('consumer', config.logLevel);

  const retrying = (step: string) => (error: unknown) => log.warn(`${step} failed, retrying`, { error });
  await retryUntil('migrate', () => migrate(config.databaseUrl), retrying('migrate'));
  const pool = createPool(config.databaseUrl, { max: config.pgPoolSize ?? TUNING.postgres.consumerPoolSize });
  setRedisKeyPrefix(config.redisKeyPrefix);
  const redis = createRedis(config.redisUrl);
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: 'conversation-sync-consumer', log: (level, msg, extra) => log[level](msg, extra) });
  await retryUntil('create topics', () => ensureTopics(kafka, [
    { topic: config.kafkaTopic, numPartitions: config.kafkaPartitions },
    { topic: config.kafkaDlqTopic, numPartitions: 1 },
  ]), retrying('create topics'));

  const deadLetters = new DeadLetterPublisher(kafka, config.kafkaDlqTopic, config.kafkaGroupId);
  await retryUntil('connect to Kafka', () => deadLetters.connect(), retrying('connect to Kafka'));
  const applier = new BatchApplier(
    pool,
    new ProjectionRepository(pool),
    new ProjectionCache(redis),
    config.kafkaGroupId,
    (topic, partition, letters) => deadLetters.publish(topic, partition, letters),
    config.recentMessagesKept,
    config.smallGroupMaxMembers,
  );
  const registry = createMetricsRegistry('consumer');
  const vacuum = new MessageVacuum(new VacuumRepository(pool), config.postgresVacuumIntervalMs, log);
  const ingest = new KafkaIngest(kafka, config.kafkaTopic, config.kafkaGroupId, applier, eachListener(new IngestMetrics(registry, log), vacuum), {
    maxBytesPerPartition: config.kafkaMaxBytesPerPartition,
    partitionsInFlight: config.kafkaPartitionsInFlight,
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
  await ingest.start();
  vacuum.start();
  let repairing = false;
  const cacheRepair = setInterval(() => {
    if (repairing) return;
    repairing = true;
    applier
      .repairCacheIfIncomplete()
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
    await ingest.stop().catch((error) => log.error('leaving the group failed', { error }));
    await vacuum.stop();
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

main().catch((error) => {
  process.stderr.write(`consumer failed to start: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
