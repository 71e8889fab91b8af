import { ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Admin } from 'kafkajs';
import { createPool } from '../../libs/storage/src/postgres/database';
import { createRedis } from '../../libs/storage/src/redis/redis-layout';
import { TestEnvironment } from '../../test/support/test-environment';
import { BatchFigures, batchStats, diffBatches } from '../lib/consumer-metrics';
import { DrainFigures, cpuPerEvent, round, roundDrain } from '../lib/figures';
import { FloorResult, dropFloor, measureFloor } from '../lib/floor';
import { DrainResult, endOffsets, measureDrain, produceAll, recordsBetween, whenGroupStable } from '../lib/kafka-tools';
import { log } from '../lib/progress';
import { OutRecord, TrafficCounts } from '../lib/traffic';
import { REGULAR_PARTITIONS, SharedWorld, isRunning } from '../world';
import { SharedPhase } from './phase';

export interface IngestResult {
  produced: TrafficCounts;
  produceSeconds: number;
  consumerStartSeconds: number;
  consumer: DrainFigures & { batches: BatchFigures | null };
  bareKafkajs: DrainFigures;
  /** consumer rate / bare kafkajs rate */
  ratio: number;
  floor: FloorResult;
}

/**
 * Phase 2: a backlog produced before the consumer starts, then drained by it;
 * the bare kafkajs consumer reads the same records, and the ingest floor
 * applies them the least durable way (bench/lib/floor.ts).
 */
export const ingestPhase: SharedPhase<'ingest'> = {
  name: 'ingest',
  result: 'ingest',
  world: 'shared',
  inRuns: ['quick', 'full'],
  run: runIngest,
};

async function runIngest(world: SharedWorld): Promise<IngestResult> {
  const { env, admin, producer, rss, settings } = world;
  rss.phase = 'ingest-1';
  log('\n[2] ingest');
  const backlog = world.traffic.regular(settings.messages);
  const produceSeconds = await produceAll(producer, env.topic, backlog.records, 'produce backlog');
  const ends = await endOffsets(admin, env.topic);
  const ingestTotal = recordsBetween(new Map(), ends, REGULAR_PARTITIONS);
  const spawnedAt = performance.now();
  const consumer = await world.spawnConsumer();
  const consumerReady = consumer.waitUntilReady(60_000);
  consumerReady.catch(() => undefined);
  const groupStable = whenGroupStable(admin, env.groupId);
  const ingest = await measureDrain({
    label: 'consumer applies backlog',
    total: ingestTotal,
    progress: async () => {
      world.assertAppsAlive();
      return recordsBetween(new Map(), await world.applied(), REGULAR_PARTITIONS, ends);
    },
    started: groupStable,
    pid: consumer.pid,
  });
  await consumerReady;
  const batches = diffBatches(await batchStats(consumer.url), { batches: 0, seconds: 0, events: 0 });
  const consumerStartSeconds = ((await groupStable) - spawnedAt) / 1000;
  await world.checkpointMemory('afterIngest');

  rss.phase = 'ingest-baseline';
  const baselineGroup = `${env.groupId}-baseline`;
  world.extraGroups.push(baselineGroup);
  const baselineIngest = await runBaselineConsumer(admin, env, baselineGroup, ingestTotal, world.children);
  rss.phase = 'ingest-floor';
  const floor = await runFloor(env, backlog.records);
  log(`    consumer ${Math.round(ingest.rate)}/s, bare kafkajs ${Math.round(baselineIngest.rate)}/s`);
  log(`    CPU per event (µs): ${JSON.stringify(cpuPerEvent(ingest))}; bare kafkajs: ${JSON.stringify(cpuPerEvent(baselineIngest))}`);
  log(`    floor (least durable work, no rules, no Kafka): ${Math.round(floor.rate)}/s, CPU per event (µs): ${JSON.stringify(floor.cpuPerEventUs)}`);
  log(`    batches: ${JSON.stringify(batches)}, consumer CPU ${ingest.cpuSeconds ?? '?'} s`);
  return {
    produced: backlog.counts,
    produceSeconds: round(produceSeconds, 2),
    consumerStartSeconds: round(consumerStartSeconds, 2),
    consumer: { ...roundDrain(ingest), batches },
    bareKafkajs: roundDrain(baselineIngest),
    ratio: round(ingest.rate / baselineIngest.rate, 3),
    floor: { ...floor, seconds: round(floor.seconds, 3), rate: round(floor.rate, 0) },
  };
}

/** The bare kafkajs consumer in a child process, measured like the real one (group stable → every record seen). */
async function runBaselineConsumer(admin: Admin, env: TestEnvironment, groupId: string, total: number, children: ChildProcess[]): Promise<DrainResult> {
  const child = fork(join(__dirname, '..', 'children', 'baseline-consumer.ts'), [env.appEnv().KAFKA_BROKERS, env.topic, groupId], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: ['-r', join(__dirname, '..', 'ts-register.js')],
  });
  children.push(child);
  let count = 0;
  let exited: string | null = null;
  child.on('message', (message: { count: number }) => (count = message.count));
  child.once('exit', (code) => (exited = `baseline consumer exited with ${code}`));
  try {
    return await measureDrain({
      label: 'bare kafkajs reads the same',
      total,
      progress: () => {
        if (exited && count < total) throw new Error(exited);
        return count;
      },
      started: whenGroupStable(admin, groupId),
      pid: child.pid,
    });
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => (isRunning(child) ? child.once('exit', resolve) : resolve(null)));
  }
}

/** The ingest floor over the same records, in the bench's database and Redis db; its tables and keys are dropped after. */
async function runFloor(env: TestEnvironment, records: OutRecord[]): Promise<FloorResult> {
  log('    floor: the least durable work per event, same records (a few seconds)…');
  const pool = createPool(env.databaseUrl);
  // The floor is measured against a single Redis.
  const redis = createRedis(env.redisUrl) as Redis;
  try {
    return await measureFloor(pool, redis, records);
  } finally {
    await dropFloor(pool, redis).catch(() => undefined);
    await pool.end();
    redis.disconnect();
  }
}
