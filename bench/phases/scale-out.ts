import { ChildProcess, fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { AppProcess } from '../../test/support/app-process';
import { TestEnvironment, freePort } from '../../test/support/test-environment';
import { CURSOR_LAG_METRIC, MetricSampler, Percentiles } from '../lib/consumer-metrics';
import { round } from '../lib/figures';
import { Checkpoints, measureDrain, produceAll, whenGroupStable } from '../lib/kafka-tools';
import { log } from '../lib/progress';
import { CpuPerEvent, cpuPerEventUs, cpuSeconds, machineCoresBusySince, machineCpu } from '../lib/rss';
import { OutRecord, Traffic, TrafficCounts } from '../lib/traffic';
import { Settings } from '../settings';
import { isRunning } from '../world';
import { OwnPhase } from './phase';

/** What stores on other hosts cost: 2 ms each way, so +4 ms per round trip. */
const ONE_WAY_DELAY_MS = 2;
const PARTITIONS = 8;
const FETCH_BYTES = 16 * 1024;
/** The two runs: the same records, into a fresh database and Redis db each. */
const RUNS = [
  { consumers: 1, partitionsInFlight: 1 },
  { consumers: 2, partitionsInFlight: 4 },
] as const;

export interface ScaleOutRun {
  consumers: number;
  partitionsInFlight: number;
  records: number;
  seconds: number;
  rate: number;
  /** CPU seconds over the drain: the consumers together, PostgreSQL, Redis, the broker; the proxies apart */
  cpuSeconds: { consumers: number; postgres: number; redis: number; kafka: number; proxies: number };
  /** (consumers + PostgreSQL + Redis + broker) CPU seconds per second: what the machine's cores allow */
  coresBusy: number;
  /** the whole machine's busy cores over the drain (/proc/stat: the proxies, the bench and the kernel too), of `cores` */
  machineCoresBusy: number;
  /** events/s the machine's cores allow at this run's CPU per event (all processes and the proxies): the ceiling where the cores are the limit */
  cpuBoundRate: number;
  /** µs per event: `process` is the consumers together; total leaves out the proxies (the bench's stand-in for a network) */
  cpuPerEventUs: CpuPerEvent;
  proxyCpuPerEventUs: number;
  /** p50/p99 of the consumers' cursor lag gauge over the drain; null: no app exposes it yet */
  cursorLagSeconds: Percentiles | null;
  consumerFrozenSeconds: number;
}

export interface ScaleOutResult {
  partitions: number;
  roundTripDelayMs: number;
  /** what a Redis PING through the proxy costs more than one straight to Redis, measured (timers run late on a busy machine) */
  measuredAddedRoundTripMs: number;
  maxBytesPerPartition: number;
  produced: TrafficCounts;
  cursorLagMetric: string;
  oneConsumer: ScaleOutRun;
  twoConsumers: ScaleOutRun;
  /** two consumers' rate / one's */
  ratio: number;
  cores: number;
}

/**
 * Scale-out (issue 14): PostgreSQL and Redis behind a delay proxy (+4 ms per
 * round trip, bench/children/delay-proxy.ts), 16 KiB fetches, an 8-partition
 * topic, the same records twice: one consumer with 1 partition in flight,
 * then two consumers with 4 each. In the full run, or alone: `--only scale-out [--quick]`.
 */
export const scaleOutPhase: OwnPhase<'scaleOut'> = {
  name: 'scale-out',
  result: 'scaleOut',
  world: 'own',
  inRuns: ['full'],
  run: runScaleOut,
};

async function runScaleOut(settings: Settings): Promise<ScaleOutResult> {
  log('\n[8] scale-out');
  const traffic = new Traffic({ users: settings.users, personPairs: settings.personPairs, groups: settings.groups, regularPartitions: PARTITIONS, seed: 20251202 });
  const { records, counts } = traffic.regular(settings.scaleOutMessages);
  const proxies = await DelayProxies.start();
  try {
    const measuredAddedRoundTripMs = await addedRoundTripMs(proxies);
    log(`    a round trip through the proxy costs +${measuredAddedRoundTripMs} ms`);
    const [oneConsumer, twoConsumers] = [await scaleOutRun(records, RUNS[0], proxies), await scaleOutRun(records, RUNS[1], proxies)];
    const ratio = round(twoConsumers.rate / oneConsumer.rate, 3);
    log(`    1 × 1 in flight ${oneConsumer.rate}/s, 2 × 4 in flight ${twoConsumers.rate}/s (${ratio}×); cores busy ${oneConsumer.coresBusy} → ${twoConsumers.coresBusy} (whole machine ${oneConsumer.machineCoresBusy} → ${twoConsumers.machineCoresBusy}); the cores allow ${oneConsumer.cpuBoundRate}/s → ${twoConsumers.cpuBoundRate}/s at each run's CPU per event`);
    return {
      partitions: PARTITIONS,
      roundTripDelayMs: 2 * ONE_WAY_DELAY_MS,
      measuredAddedRoundTripMs,
      maxBytesPerPartition: FETCH_BYTES,
      produced: counts,
      cursorLagMetric: CURSOR_LAG_METRIC,
      oneConsumer,
      twoConsumers,
      ratio,
      cores: availableParallelism(),
    };
  } finally {
    await proxies.stop();
  }
}

/**
 * One run in a world of its own: the consumers join the empty topic, are
 * frozen (SIGSTOP) while the records are written, and drain them from the
 * moment they are thawed, as phase 5 does (kept under their 10 s session).
 */
async function scaleOutRun(records: OutRecord[], run: (typeof RUNS)[number], proxies: DelayProxies): Promise<ScaleOutRun> {
  const label = `${run.consumers} consumer${run.consumers > 1 ? 's' : ''} × ${run.partitionsInFlight} in flight`;
  const env = new TestEnvironment(`bench_scale_${run.consumers}`, PARTITIONS);
  const consumers: AppProcess[] = [];
  const checkpoints = new Checkpoints(env.databaseUrl, env.groupId, env.topic);
  let died: string | null = null;
  try {
    await env.setUp();
    const appEnv = {
      ...env.appEnv(),
      DATABASE_URL: proxies.postgresUrl(env.databaseUrl),
      REDIS_URL: proxies.redisUrl(env.redisUrl),
      KAFKA_MAX_BYTES_PER_PARTITION: String(FETCH_BYTES),
      KAFKA_PARTITIONS_IN_FLIGHT: String(run.partitionsInFlight),
    };
    for (let i = 0; i < run.consumers; i++) {
      const consumer = AppProcess.spawn('consumer', appEnv, await freePort());
      void consumer.waitForExit().then((code) => (died ??= `a consumer (pid ${consumer.pid}) exited with ${String(code)}`));
      consumers.push(consumer);
    }
    await Promise.all(consumers.map((c) => c.waitUntilReady(120_000)));
    const admin = env.kafka.admin();
    await admin.connect();
    await whenGroupStable(admin, env.groupId, 60_000, 20, run.consumers).finally(() => admin.disconnect());
    const frozen = await writeWhileFrozen(env, consumers, records, label);
    const cpuAtStart = cpuOf(consumers, proxies);
    const machineAtStart = machineCpu();
    const lag = new MetricSampler(consumers.map((c) => c.url), CURSOR_LAG_METRIC);
    lag.start();
    const drain = await measureDrain({
      label: `${label} apply`,
      total: records.length,
      progress: async () => {
        if (died) throw new Error(died);
        const applied = await checkpoints.read().catch(() => new Map<number, bigint>());
        return [...applied.values()].reduce((sum, next) => sum + Number(next), 0);
      },
      started: Promise.resolve(frozen.resumedAt),
    });
    const machineCoresBusy = machineCoresBusySince(machineAtStart, availableParallelism());
    const cursorLagSeconds = lag.stop();
    const cpuAtEnd = cpuOf(consumers, proxies);
    const services = drain.servicesCpu ?? { postgres: 0, redis: 0, kafka: 0 };
    const consumersCpu = cpuAtEnd.consumers - cpuAtStart.consumers;
    const proxiesCpu = cpuAtEnd.proxies - cpuAtStart.proxies;
    const cpuPerEvent = cpuPerEventUs(drain.records, consumersCpu, services);
    const proxyCpuPerEventUs = Math.round((proxiesCpu * 1e6) / drain.records);
    return {
      ...run,
      records: drain.records,
      seconds: round(drain.seconds, 3),
      rate: round(drain.rate, 0),
      cpuSeconds: { consumers: round(consumersCpu, 2), postgres: round(services.postgres, 2), redis: round(services.redis, 2), kafka: round(services.kafka, 2), proxies: round(proxiesCpu, 2) },
      coresBusy: round((consumersCpu + services.postgres + services.redis + services.kafka) / drain.seconds, 2),
      machineCoresBusy,
      cpuBoundRate: Math.round((availableParallelism() * 1e6) / (cpuPerEvent.total + proxyCpuPerEventUs)),
      cpuPerEventUs: cpuPerEvent,
      proxyCpuPerEventUs,
      cursorLagSeconds,
      consumerFrozenSeconds: frozen.seconds,
    };
  } catch (error) {
    for (const consumer of consumers) log(`--- consumer ${consumer.pid} output (tail) ---\n${consumer.logs.slice(-2000)}`);
    throw error;
  } finally {
    await checkpoints.close();
    await Promise.all(consumers.map((c) => c.stop().catch(() => undefined)));
    await env.tearDown().catch((error) => log(`scale-out tear-down: ${String(error)}`));
  }
}

async function writeWhileFrozen(env: TestEnvironment, consumers: AppProcess[], records: OutRecord[], label: string): Promise<{ resumedAt: number; seconds: number }> {
  const producer = env.kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const frozenAt = performance.now();
  for (const consumer of consumers) process.kill(consumer.pid, 'SIGSTOP');
  try {
    await produceAll(producer, env.topic, records, `produce (${label})`);
  } finally {
    for (const consumer of consumers) process.kill(consumer.pid, 'SIGCONT');
    await producer.disconnect();
  }
  const resumedAt = performance.now();
  const seconds = round((resumedAt - frozenAt) / 1000, 2);
  if (seconds > 8) log(`    warning: the consumers were frozen ${seconds} s; a rejoin may be in the figure`);
  return { resumedAt, seconds };
}

async function addedRoundTripMs(proxies: DelayProxies): Promise<number> {
  const pingMs = async (url: string) => {
    const redis = new Redis(url);
    try {
      await redis.ping();
      const started = performance.now();
      for (let i = 0; i < 20; i++) await redis.ping();
      return (performance.now() - started) / 20;
    } finally {
      redis.disconnect();
    }
  };
  const direct = 'redis://127.0.0.1:6379/0';
  return round((await pingMs(proxies.redisUrl(direct))) - (await pingMs(direct)), 2);
}

function cpuOf(consumers: AppProcess[], proxies: DelayProxies): { consumers: number; proxies: number } {
  const sum = (pids: number[]) => pids.reduce((total, pid) => total + (cpuSeconds(pid) ?? 0), 0);
  return { consumers: sum(consumers.map((c) => c.pid)), proxies: sum(proxies.pids) };
}

/** The two delay proxies, PostgreSQL's and Redis', each a process of its own. */
class DelayProxies {
  private constructor(
    private readonly postgres: { port: number; child: ChildProcess },
    private readonly redis: { port: number; child: ChildProcess },
  ) {}

  static async start(): Promise<DelayProxies> {
    return new DelayProxies(await startProxy('127.0.0.1:5432'), await startProxy('127.0.0.1:6379'));
  }

  get pids(): number[] {
    return [this.postgres.child.pid, this.redis.child.pid].filter((pid): pid is number => pid !== undefined);
  }

  postgresUrl(direct: string): string {
    return throughPort(direct, this.postgres.port);
  }

  redisUrl(direct: string): string {
    return throughPort(direct, this.redis.port);
  }

  async stop(): Promise<void> {
    await Promise.all([this.postgres.child, this.redis.child].map(stopChild));
  }
}

async function startProxy(target: string): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = fork(join(__dirname, '..', 'children', 'delay-proxy.ts'), [String(port), target, String(ONE_WAY_DELAY_MS)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: ['-r', join(__dirname, '..', 'ts-register.js')],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`delay proxy to ${target} exited with ${code}`)));
  });
  return { port, child };
}

function stopChild(child: ChildProcess): Promise<unknown> {
  if (!isRunning(child)) return Promise.resolve();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  return exited;
}

function throughPort(url: string, port: number): string {
  const parsed = new URL(url);
  parsed.port = String(port);
  return parsed.toString();
}
