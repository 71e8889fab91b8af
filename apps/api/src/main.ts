import 'reflect-metadata';
import { TUNING, configOrExit, loadConfig, retryUntil } from '@cs/config';
import { createLogger } from '@cs/observability';
import { createKafka, createKeyedProducer, ensureTopics } from '@cs/kafka';
import { EventPublisher } from '@cs/events';
import {
  CheckpointRepository,
  ProjectionCache,
  ProjectionRepository,
  createPool,
  createRedis,
  setRedisKeyPrefix,
  migrate,
  postgresAnswers,
  redisAnswers,
} from '@cs/storage';
import { createMetricsRegistry } from '@cs/observability';
import { CommandPublisher } from './conversations/command.publisher';
import { createApiApp } from './http-app';
import { ConversationChannelsService } from './sync/conversation-channels.service';
import { ProjectionReader } from './sync/projection-reader';
import { SyncService } from './sync/sync.service';
import { Counter } from 'prom-client';

/** Composition root: starts everything in order; on SIGTERM stops accepting, drains, exits 0. */
async function main(): Promise<void> {
  const config = configOrExit(() => loadConfig());
  const log = createLogger('api', config.logLevel);

  const retrying = (step: string) => (error: unknown) => log.warn(`${step} failed, retrying`, { error });
  await retryUntil('migrate', () => migrate(config.databaseUrl), retrying('migrate'));
  const pool = createPool(config.databaseUrl, {
    max: config.pgPoolSize ?? TUNING.postgres.apiPoolSize,
    statement_timeout: TUNING.postgres.apiStatementTimeoutMs,
    query_timeout: TUNING.postgres.apiQueryTimeoutMs,
  });
  setRedisKeyPrefix(config.redisKeyPrefix);
  const redis = createRedis(config.redisUrl);
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: 'conversation-sync-api', log: (level, msg, extra) => log[level](msg, extra) });
  await retryUntil('create topics', () => ensureTopics(kafka, [{ topic: config.kafkaTopic, numPartitions: config.kafkaPartitions }]), retrying('create topics'));
  const producer = createKeyedProducer(kafka);
  await producer.connect();

  const events = new EventPublisher(producer, config.kafkaTopic, { timeoutMs: config.commandTimeoutMs });
  const commands = new CommandPublisher(events, new CheckpointRepository(pool), {
    topic: config.kafkaTopic,
    groupId: config.kafkaGroupId,
    timeoutMs: config.commandTimeoutMs,
  });

  const registry = createMetricsRegistry('api');
  const cache = new ProjectionCache(redis);
  const reader = new ProjectionReader(cache, new ProjectionRepository(pool, { groupId: config.kafkaGroupId, topic: config.kafkaTopic }), log);
  const skippedLastMsgSeqs = new Counter({
    name: 'conversation_sync_last_msg_seqs_skipped_total',
    help: 'last_msg_seqs entries skipped because they could not be read',
    registers: [registry],
  });
  const clampedVersions = new Counter({
    name: 'conversation_sync_clamped_versions_total',
    help: 'Answer entries sent with their version clamped to W (their change was not yet closed in every partition): they come again',
    registers: [registry],
  });
  const sync = new SyncService(cache, reader, skippedLastMsgSeqs, clampedVersions, log, config.answerCacheBytes);
  const channels = new ConversationChannelsService(reader);
  const readinessChecks = [
    { name: 'postgres', check: postgresAnswers(pool) },
    { name: 'redis', check: redisAnswers(redis) },
  ];
  const app = await createApiApp({ sync, channels, commands, apiToken: config.apiToken, userHeader: config.apiUserHeader, log, registry, readinessChecks });
  await app.listen(config.apiPort, '0.0.0.0');
  log.info('api started', { port: config.apiPort, tokenRequired: config.apiToken !== null });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    const forced = setTimeout(() => process.exit(1), config.shutdownTimeoutMs);
    await app.close().catch((error) => log.error('closing http failed', { error }));
    await producer.disconnect().catch(() => undefined);
    await Promise.allSettled([pool.end(), redis.quit()]);
    clearTimeout(forced);
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error) => {
  process.stderr.write(`api failed to start: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
