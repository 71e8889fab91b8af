import { configOrExit, loadConfig } from '@cs/config';
import { BatchApplier, rebuildRedisFromPostgres } from '@cs/ingest';
import { createKafka } from '@cs/kafka';
import {
  MaintenanceRepository,
  ProjectionCache,
  ProjectionRepository,
  createPool,
  createRedis,
  setRedisKeyPrefix,
  migrate,
} from '@cs/storage';
import { Admin } from 'kafkajs';
import { Pool } from 'pg';
import { Command, say } from '../command';
import { ProgressBar } from '../progress';
import { currentSpans, readSpans, spanSize } from '../topic-reader';

export const rebuildCommand: Command = {
  name: 'rebuild',
  summary: 'replay KAFKA_TOPIC into fresh projections (PostgreSQL, then Redis)',
  help: `Usage: npm run cli -- rebuild [--yes] [--progress]

Replays KAFKA_TOPIC from its first offset up to the end offsets read at the start
into the projections of DATABASE_URL (created and migrated if missing), with the
consumer's own batch applier (and its RECENT_MESSAGES_KEPT: use the consumers'
value), then rebuilds Redis (REDIS_URL) from PostgreSQL.
Checkpoints are written for KAFKA_GROUP_ID, so a consumer started afterwards
resumes where the rebuild ended.

  --yes        DATABASE_URL already holds projections: truncate them first
               (channels, conversations, messages, KAFKA_GROUP_ID's checkpoints).
               Without it, a non-empty database is refused.
  --progress   draw the progress bar on stderr even when it is not a terminal

Stop the consumers of KAFKA_GROUP_ID first: the command refuses while the group
has members. Invalid events are counted, not published again (the consumer put
them in KAFKA_DLQ_TOPIC when it first read them).

Prints one final line: rebuilt: <N> events applied, <M> dead letters, <P> partitions
`,
  options: { yes: { type: 'boolean' }, progress: { type: 'boolean' } },
  async run(options) {
    const config = configOrExit(() => loadConfig());
    const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: 'conversation-sync-cli' });
    const admin = kafka.admin();
    await admin.connect();
    await migrate(config.databaseUrl);
    const pool = createPool(config.databaseUrl);
    // The CLI talks to Redis right away: queue commands until it is connected.
    setRedisKeyPrefix(config.redisKeyPrefix);
    const redis = createRedis(config.redisUrl, { enableOfflineQueue: true, maxRetriesPerRequest: 3 });
    try {
      const busy = await activeMembers(admin, config.kafkaGroupId);
      if (busy !== null) return refuse(busy);
      const spans = await currentSpans(admin, config.kafkaTopic);
      if (spans === null) return refuse(`topic ${config.kafkaTopic} (KAFKA_TOPIC) does not exist`);
      const maintenance = new MaintenanceRepository(pool);
      const counts = await maintenance.projectionCounts(config.kafkaGroupId);
      if (Object.values(counts).some((count) => count > 0)) {
        if (options.yes !== true) {
          return refuse(
            `DATABASE_URL already holds projections (${counts.conversations} conversations, ${counts.channels} channels, ` +
              `${counts.messages} messages, ${counts.checkpoints} checkpoints of ${config.kafkaGroupId}); pass --yes to truncate them and rebuild`,
          );
        }
        await maintenance.truncateProjections(config.kafkaGroupId);
      }

      const projections = new ProjectionRepository(pool);
      const cache = new ProjectionCache(redis);
      // Redis mirrors the (now empty) projections from the start, so each batch writes into a complete cache.
      await cache.rebuild(none(), 0n, { closed: [], partitionCount: 0 });
      // Dead letters are counted, not sent: the consumer sent them when it first read the records.
      const countOnly = async (_topic: string, _partition: number, letters: unknown[]) => letters.length;
      const applier = new BatchApplier(pool, projections, cache, config.kafkaGroupId, countOnly, config.recentMessagesKept, config.smallGroupMaxMembers);

      const total = spanSize(spans);
      const progress = ProgressBar.start('rebuild', total, options.progress === true);
      let read = 0;
      let applied = 0;
      let deadLetters = 0;
      await readSpans(kafka, admin, config.kafkaTopic, spans, async (partition, records) => {
        const outcome = await applier.apply(config.kafkaTopic, partition, records);
        read += records.length;
        applied += outcome.applied;
        deadLetters += outcome.deadLetters;
        progress.update(read, `${read}/${total} records`);
      });
      progress.finish(`${read}/${total} records`);
      await rebuildRedisFromPostgres(pool, projections, cache, config.kafkaGroupId, config.kafkaTopic, false, config.smallGroupMaxMembers);
      say(`rebuilt: ${applied} events applied, ${deadLetters} dead letters, ${spans.length} partitions`);
      return 0;
    } finally {
      await admin.disconnect().catch(() => undefined);
      await Promise.allSettled([pool.end(), redis.quit()]);
    }
  },
};

async function activeMembers(admin: Admin, groupId: string): Promise<string | null> {
  const { groups } = await admin.describeGroups([groupId]);
  const members = groups[0]?.members.length ?? 0;
  return members > 0 ? `consumer group ${groupId} (KAFKA_GROUP_ID) has ${members} active member(s): stop its consumers first` : null;
}

function refuse(why: string): number {
  process.stderr.write(`rebuild refused: ${why}\n`);
  return 1;
}

async function* none(): AsyncGenerator<never> {}
