/**
 * A probe, not part of `npm run bench`: applies synthetic batches straight to
 * the BatchApplier (no Kafka) and prints this process's CPU per event and the
 * wall time, to compare changes to the ingest path without the broker's noise.
 *   node -r ./bench/ts-register.js -r tsconfig-paths/register bench/probes/applier-probe.ts [messages]
 */
import { BatchApplier, IncomingRecord } from '@cs/ingest';
import { ProjectionCache, ProjectionRepository, createPool, createRedis, ensureDatabase, migrate } from '@cs/storage';
import { TestEnvironment } from '../../test/support/test-environment';
import { servicesCpuSeconds, servicesCpuSince } from '../lib/rss';
import { Traffic } from '../lib/traffic';

async function main(): Promise<void> {
  const messages = Number(process.argv[2] ?? 60_000);
  // Its own database and leased Redis db, as the tests and the bench have.
  const env = new TestEnvironment('applier_probe', 1);
  await env.setUp();
  const url = env.databaseUrl;
  await ensureDatabase(url);
  await migrate(url);
  const pool = createPool(url);
  const redis = createRedis(env.redisUrl, { lazyConnect: true });
  await redis.connect();
  const applier = new BatchApplier(pool, new ProjectionRepository(pool), new ProjectionCache(redis), 'probe', async () => 0);
  const traffic = new Traffic({ users: 20_000, personPairs: 20_000, groups: 2_000, regularPartitions: 3, seed: 20251125 });
  const byPartition = new Map<number, IncomingRecord[]>();
  for (const record of traffic.regular(messages).records) {
    const list = byPartition.get(record.partition) ?? [];
    list.push({ offset: String(list.length), key: Buffer.from(record.key), value: Buffer.from(record.value) });
    byPartition.set(record.partition, list);
  }
  const batches: [number, IncomingRecord[]][] = [];
  for (const [partition, records] of byPartition) for (let i = 0; i < records.length; i += 1375) batches.push([partition, records.slice(i, i + 1375)]);
  batches.sort((a, b) => Number(a[1][0].offset) - Number(b[1][0].offset));
  const concurrent = process.env.PROBE_CONCURRENT === '1';
  const serversBefore = servicesCpuSeconds();
  const cpu = process.cpuUsage();
  const started = performance.now();
  if (concurrent) {
    await Promise.all([...byPartition.keys()].map(async (partition) => {
      for (const [p, records] of batches) if (p === partition) await applier.apply('probe', partition, records, false);
    }));
  } else {
    for (const [partition, records] of batches) await applier.apply('probe', partition, records, false);
  }
  const seconds = (performance.now() - started) / 1000;
  const servers = servicesCpuSince(serversBefore);
  const used = process.cpuUsage(cpu);
  const events = batches.reduce((n, [, r]) => n + r.length, 0);
  console.log(
    `${events} events in ${seconds.toFixed(2)} s = ${Math.round(events / seconds)}/s; probe CPU ${((used.user + used.system) / 1e6).toFixed(2)} s = ` +
      `${Math.round((used.user + used.system) / events)} µs/event; PostgreSQL ${Math.round((servers.postgres * 1e6) / events)} µs/event, ` +
      `Redis ${Math.round((servers.redis * 1e6) / events)} µs/event`,
  );
  await pool.end();
  redis.disconnect();
  await env.tearDown();
}

void main();
