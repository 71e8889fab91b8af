/**
 * A probe, not part of `npm run bench`: applies synthetic batches straight to
 * the BatchApplier (no Kafka) and prints this process's CPU per event and the
 * wall time, to compare changes to the ingest path without the broker's noise.
 *   node -r ./bench/ts-register.js -r tsconfig-paths/register bench/probes/applier-probe.ts [messages]
 * PROBE_CONCURRENT=1 applies the partitions' batches side by side;
 * PROBE_SMALL_GROUP_MAX_MEMBERS=n applies with that fan-out threshold (0: no group is fanned out).
 */
import { BatchApplier, IncomingRecord } from '@cs/ingest';
import { ProjectionCache, ProjectionRepository, createPool, createRedis, ensureDatabase, migrate } from '@cs/storage';
import { TestEnvironment } from '../../test/support/test-environment';
import { BATCH_RECORDS } from '../lib/floor';
import { cpuPerEventUs, cpuSeconds, measureWork } from '../lib/rss';
import { Traffic, partitionBatches } from '../lib/traffic';

async function main(): Promise<void> {
  const messages = Number(process.argv[2] ?? 60_000);
  // Its own database and leased Redis db, as the tests and the bench have.
  const env = new TestEnvironment('applier_probe', 1);
  await env.setUp();
  const url = env.databaseUrl;
  await ensureDatabase(url);
  await migrate(url);
  const pool = createPool(url);
  // The probe's own PostgreSQL backends, so other work on a shared server is not counted.
  const backends = new Set<number>();
  pool.on('connect', (client) => void client.query('SELECT pg_backend_pid() AS pid').then(({ rows }) => backends.add(rows[0].pid)));

  const redis = createRedis(env.redisUrl, { lazyConnect: true });
  await redis.connect();
  const backendSeconds = () => [...backends].reduce((sum, pid) => sum + (cpuSeconds(pid) ?? 0), 0);
  const redisSeconds = async () => {
    const info = await redis.info('cpu');
    return ['used_cpu_sys', 'used_cpu_user'].reduce((sum, name) => sum + Number(new RegExp(`${name}:([\\d.]+)`).exec(info)![1]), 0);
  };
  const [backendsBefore, redisBefore] = [backendSeconds(), await redisSeconds()];
  await redis.config('RESETSTAT');
  const smallGroupMaxMembers = process.env.PROBE_SMALL_GROUP_MAX_MEMBERS === undefined ? undefined : Number(process.env.PROBE_SMALL_GROUP_MAX_MEMBERS);
  const applier = new BatchApplier(pool, new TimedRepository(pool), new TimedCache(redis), 'probe', async () => 0, undefined, smallGroupMaxMembers);
  const traffic = new Traffic({ users: 20_000, personPairs: 20_000, groups: 2_000, regularPartitions: 3, seed: 20251125 });
  const offsets = new Map<number, number>();
  const batches = partitionBatches(traffic.regular(messages).records, BATCH_RECORDS).map(([partition, records]) => {
    const first = offsets.get(partition) ?? 0;
    offsets.set(partition, first + records.length);
    const incoming: IncomingRecord[] = records.map((r, i) => ({ offset: String(first + i), key: Buffer.from(r.key), value: Buffer.from(r.value) }));
    return [partition, incoming] as const;
  });
  // Partitions taking turns, as one consumer sees them.
  batches.sort((a, b) => Number(a[1][0].offset) - Number(b[1][0].offset));
  const concurrent = process.env.PROBE_CONCURRENT === '1';
  const { seconds, processSeconds, services } = await measureWork(async () => {
    if (concurrent) {
      await Promise.all([...offsets.keys()].map(async (partition) => {
        for (const [p, records] of batches) if (p === partition) await applier.apply('probe', partition, records, false);
      }));
    } else {
      for (const [partition, records] of batches) await applier.apply('probe', partition, records, false);
    }
  });
  const events = batches.reduce((n, [, r]) => n + r.length, 0);
  const perEvent = cpuPerEventUs(events, processSeconds, services);
  const own = (s: number) => Math.round((s * 1e6) / events);
  console.log(
    `${events} events in ${seconds.toFixed(2)} s = ${Math.round(events / seconds)}/s; probe CPU ${processSeconds.toFixed(2)} s = ` +
      `${perEvent.process} µs/event; PostgreSQL ${perEvent.postgres} µs/event, Redis ${perEvent.redis} µs/event (every process of each); ` +
      `the probe's own backends ${own(backendSeconds() - backendsBefore)} µs/event, this Redis server ${own((await redisSeconds()) - redisBefore)} µs/event`,
  );
  console.log(`wall ms per batch step, summed: ${JSON.stringify(Object.fromEntries([...stepMs].map(([step, ms]) => [step, Math.round(ms)])))}`);
  console.log(`Redis commands by CPU: ${await commandStats(redis)}`);
  await pool.end();
  redis.disconnect();
  await env.tearDown();
}

/** Wall time per batch step: how long each store took, summed over the run. */
const stepMs = new Map<string, number>();
async function timed<T>(step: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    stepMs.set(step, (stepMs.get(step) ?? 0) + performance.now() - started);
  }
}

class TimedRepository extends ProjectionRepository {
  override loadState(...args: Parameters<ProjectionRepository['loadState']>) {
    return timed('postgres load', () => super.loadState(...args));
  }
  override saveBatch(...args: Parameters<ProjectionRepository['saveBatch']>) {
    return timed('postgres save', () => super.saveBatch(...args));
  }
}

class TimedCache extends ProjectionCache {
  override writeBatch(...args: Parameters<ProjectionCache['writeBatch']>) {
    return timed('redis write', () => super.writeBatch(...args));
  }
}

/** INFO commandstats, the five costliest: name calls×µs-per-call. */
async function commandStats(redis: { info(section: 'commandstats'): Promise<string> }): Promise<string> {
  const info = await redis.info('commandstats');
  const stats = [...info.matchAll(/cmdstat_(\w+):calls=(\d+),usec=(\d+)/g)].map(([, name, calls, usec]) => ({ name, calls: Number(calls), usec: Number(usec) }));
  return stats
    .sort((a, b) => b.usec - a.usec)
    .slice(0, 5)
    .map((s) => `${s.name} ${s.calls}×${(s.usec / s.calls).toFixed(1)} µs`)
    .join(', ');
}

void main();
