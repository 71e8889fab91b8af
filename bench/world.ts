import { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { Admin, Producer } from 'kafkajs';
import { AppProcess } from '../test/support/app-process';
import { TestEnvironment, freePort } from '../test/support/test-environment';
import { Checkpoints, endOffsets, recordsBetween, sleep } from './lib/kafka-tools';
import { Progress, log } from './lib/progress';
import { RssSampler } from './lib/rss';
import { Traffic } from './lib/traffic';
import { Settings } from './settings';

/** Partitions of the shared world's topic: 0..2 regular traffic, 3 the big group. */
export const REGULAR_PARTITIONS = [0, 1, 2];
export const BIG_GROUP_PARTITION = 3;
const ALL_PARTITIONS = 4;

export interface MemoryCheckpoint {
  eventsApplied: number;
  consumer: number | null;
  api: number | null;
}

/** Something a phase started that must stop with the bench, however it ends. */
export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * The world phases 2–6 share: one topic, database and Redis db, one API and
 * one consumer (spawned by the ingest phase), the generated traffic, the RSS
 * sampler and the memory checkpoints the phases take. `cleanUp` stops and
 * deletes all of it, also on a crash or Ctrl-C.
 */
export class SharedWorld {
  readonly env = new TestEnvironment('bench', ALL_PARTITIONS);
  readonly rss = new RssSampler();
  readonly traffic: Traffic;
  /** Child processes of the bench's own (baselines, load generator): SIGTERMed at clean-up. */
  readonly children: ChildProcess[] = [];
  /** Extra consumer groups to delete at clean-up. */
  readonly extraGroups: string[] = [];
  /** Temporary files to delete at clean-up. */
  readonly files: string[] = [];
  readonly memory: Record<string, MemoryCheckpoint> = {};
  /** Whatever else a phase started (the live big group): stopped first at clean-up. */
  readonly stoppables = new Set<Stoppable>();
  consumerPaused = false;
  postgresStartedAt: string | null = null;
  private admin_?: Admin;
  private producer_?: Producer;
  private checkpoints_?: Checkpoints;
  private api_?: AppProcess;
  private consumer_?: AppProcess;
  private appDied: string | null = null;
  private cleaned = false;
  private readonly alive = new Set<number>();

  constructor(
    readonly settings: Settings,
    /** where temporary files go (bench/results/tmp) */
    readonly tmpDir: string,
    /** added to the apps' environment (the CPU profiler's preload under --profile) */
    private readonly extraAppEnv: Record<string, string>,
  ) {
    this.traffic = new Traffic({ users: settings.users, personPairs: settings.personPairs, groups: settings.groups, regularPartitions: REGULAR_PARTITIONS.length, seed: 20251125 });
  }

  get admin(): Admin {
    return required(this.admin_, 'admin');
  }
  get producer(): Producer {
    return required(this.producer_, 'producer');
  }
  get checkpoints(): Checkpoints {
    return required(this.checkpoints_, 'checkpoints');
  }
  get api(): AppProcess {
    return required(this.api_, 'the API');
  }
  /** The consumer, once the ingest phase has spawned it. */
  get consumer(): AppProcess {
    return required(this.consumer_, 'the consumer (the ingest phase starts it)');
  }
  get appEnv(): Record<string, string> {
    return this.env.appEnv(this.extraAppEnv);
  }
  get partitions(): number {
    return ALL_PARTITIONS;
  }

  /** Topic, database, Redis db, Kafka clients and the API (which creates and migrates the database). */
  async setUp(): Promise<void> {
    log(`bench (${this.settings.mode}): topic ${this.env.topic}, database ${this.env.databaseName}`);
    this.installLastResorts();
    await this.env.setUp();
    this.admin_ = this.env.kafka.admin();
    await this.admin_.connect();
    this.producer_ = this.env.kafka.producer({ allowAutoTopicCreation: false });
    await this.producer_.connect();
    this.rss.start();
    this.rss.phase = 'start-up';
    const api = (this.api_ = AppProcess.spawn('api', this.appEnv, await freePort()));
    this.watch('api', api.pid, api.waitForExit());
    this.rss.track('api', api.pid);
    await api.waitUntilReady(60_000);
    this.checkpoints_ = new Checkpoints(this.env.databaseUrl, this.env.groupId, this.env.topic);
    this.postgresStartedAt = await this.checkpoints_.postgresStartedAt();
  }

  /** Spawns the consumer (not waiting for it: the ingest phase measures from here). */
  async spawnConsumer(): Promise<AppProcess> {
    const consumer = (this.consumer_ = AppProcess.spawn('consumer', this.appEnv, await freePort()));
    this.watch('consumer', consumer.pid, consumer.waitForExit());
    this.rss.track('consumer', consumer.pid);
    return consumer;
  }

  /** Fails the run at once when an app under test died, instead of waiting for a timeout. */
  assertAppsAlive(): void {
    if (this.appDied) throw new Error(this.appDied);
  }

  async applied(): Promise<Map<number, bigint>> {
    return this.checkpoints.read().catch(() => new Map<number, bigint>());
  }

  /** Records a memory checkpoint under `name` (memory.checkpoints in the results). */
  async checkpointMemory(name: string): Promise<MemoryCheckpoint> {
    const { mb } = this.rss.sample();
    const eventsApplied = [...(await this.applied()).values()].reduce((a, b) => a + Number(b), 0);
    return (this.memory[name] = { eventsApplied, consumer: mb.consumer ?? null, api: mb.api ?? null });
  }

  /** Waits until the consumer's checkpoints reach the topic's end offsets. */
  async waitApplied(label: string): Promise<void> {
    const ends = await endOffsets(this.admin, this.env.topic);
    const start = await this.applied();
    const total = recordsBetween(start, ends, [...ends.keys()]);
    const bar = new Progress(label, total, ' records');
    const deadline = Date.now() + 300_000;
    for (;;) {
      const now = await this.applied();
      bar.update(total - recordsBetween(now, ends, [...ends.keys()]));
      this.assertAppsAlive();
      if ([...ends].every(([p, end]) => end === 0n || (now.get(p) ?? 0n) >= end)) break;
      if (Date.now() > deadline) throw new Error(`${label}: the consumer did not catch up in 300 s`);
      await sleep(50);
    }
    bar.done();
  }

  /** True when PostgreSQL's start time changed since set-up (something else restarted it). */
  async postgresRestarted(): Promise<boolean> {
    const now = await this.checkpoints_
      ?.postgresStartedAt()
      .catch(() => this.checkpoints_?.postgresStartedAt())
      .catch(() => null);
    return Boolean(now && this.postgresStartedAt && now !== this.postgresStartedAt);
  }

  /** The apps' output tails, for a failed run. */
  appLogs(): string {
    return [this.consumer_ && `--- consumer output (tail) ---\n${this.consumer_.logs.slice(-3000)}`, this.api_ && `--- api output (tail) ---\n${this.api_.logs.slice(-3000)}`]
      .filter(Boolean)
      .join('\n');
  }

  async cleanUp(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    this.rss.stop();
    for (const stoppable of this.stoppables) await stoppable.stop().catch(() => undefined);
    if (this.consumer_ && this.consumerPaused) process.kill(this.consumer_.pid, 'SIGCONT');
    for (const child of this.children) if (isRunning(child)) child.kill('SIGTERM');
    await Promise.all([this.consumer_?.stop(), this.api_?.stop()].map((p) => p?.catch(() => undefined)));
    await Promise.all(this.children.map((child) => (isRunning(child) ? new Promise((r) => child.once('exit', r)) : null)));
    await this.producer_?.disconnect().catch(() => undefined);
    await this.checkpoints_?.close();
    if (this.admin_) {
      if (this.extraGroups.length > 0) await this.admin_.deleteGroups(this.extraGroups).catch(() => undefined);
      await this.admin_.disconnect().catch(() => undefined);
    }
    await this.env.tearDown().catch((error) => log(`tear-down: ${String(error)}`));
    for (const file of this.files) rmSync(file, { force: true });
  }

  private watch(name: string, pid: number, exited: Promise<unknown>): void {
    this.alive.add(pid);
    void exited.then((code) => {
      this.alive.delete(pid);
      if (!this.cleaned && this.appDied === null) this.appDied = `the ${name} (pid ${pid}) exited with ${String(code)} during the run`;
    });
  }

  /**
   * If the bench dies, no child outlives it (a frozen consumer is thawed first);
   * only pids whose exit we have not seen yet, so a reused pid is never signalled.
   */
  private installLastResorts(): void {
    process.on('exit', () => {
      for (const pid of this.alive) {
        try {
          process.kill(pid, 'SIGCONT');
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    });
  }
}

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is not started yet`);
  return value;
}
