/**
 * A probe, not part of `npm run bench` (which runs the same floor in phase 2):
 * the ingest floor of bench/lib/floor.ts on the applier probe's traffic, to
 * compare with applier-probe.ts's figures.
 *   node -r ./bench/ts-register.js -r tsconfig-paths/register bench/probes/floor-probe.ts [messages]
 */
import { createPool, createRedis, ensureDatabase } from '@cs/storage';
import Redis from 'ioredis';
import { TestEnvironment } from '../../test/support/test-environment';
import { measureFloor } from '../lib/floor';
import { Traffic } from '../lib/traffic';

async function main(): Promise<void> {
  const messages = Number(process.argv[2] ?? 60_000);
  const env = new TestEnvironment('floor_probe', 1);
  await env.setUp();
  await ensureDatabase(env.databaseUrl);
  const pool = createPool(env.databaseUrl);
  const redis = createRedis(env.redisUrl, { lazyConnect: true }) as Redis;
  await redis.connect();
  const traffic = new Traffic({ users: 20_000, personPairs: 20_000, groups: 2_000, regularPartitions: 3, seed: 20251125 });
  const floor = await measureFloor(pool, redis, traffic.regular(messages).records);
  const { process: probe, postgres, redis: redisUs, total } = floor.cpuPerEventUs;
  console.log(
    `${floor.events} events in ${floor.seconds.toFixed(2)} s = ${Math.round(floor.rate)}/s; per event: probe ${probe} µs, ` +
      `PostgreSQL ${postgres} µs, Redis ${redisUs} µs, total ${total} µs`,
  );
  await pool.end();
  redis.disconnect();
  await env.tearDown();
}

void main();
