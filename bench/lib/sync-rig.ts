import { ChildProcess, fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { channelKeyOf } from '../../libs/domain/src/channel-keys';
import { parseExactJson } from '../../test/support/json';
import { waitFor } from '../../test/support/wait-for';
import { freePort } from '../../test/support/test-environment';
import { Settings } from '../settings';
import { SharedWorld } from '../world';
import { round, roundLoad } from './figures';
import { LoadGenerator, LoadOptions, LoadResult, PacedOptions } from './http-load';
import { produceAll } from './kafka-tools';
import { OutRecord, Traffic } from './traffic';

export const FULL_SYNC_USER = 'bench-user';

/**
 * What the two sync phases share: one user with `fullSyncConversations`
 * person conversations (seeded through Kafka), one real answer of each kind
 * (full, and incremental with nothing new), the load generator, and the two
 * baselines answering the same bytes: bare Fastify, and the API's own Nest app
 * over a stub service. Made on first use; stopped by the last sync phase or at clean-up.
 */
export class SyncRig {
  private readonly baselineUrls = new Map<BaselineServer, Promise<string>>();
  private readonly baselineChildren = new Map<BaselineServer, ChildProcess>();

  private constructor(
    private readonly world: SharedWorld,
    readonly syncUrl: string,
    readonly fullBody: string,
    readonly fullAnswer: string,
    readonly conversations: number,
    readonly highestVersion: bigint,
    readonly incrementalBody: string,
    readonly incrementalAnswer: string,
    readonly generator: LoadGenerator,
    private readonly files: { full: string; incremental: string },
  ) {}

  static of(world: SharedWorld): Promise<SyncRig> {
    let rig = rigs.get(world);
    if (!rig) rigs.set(world, (rig = SyncRig.prepare(world)));
    return rig;
  }

  private static async prepare(world: SharedWorld): Promise<SyncRig> {
    const { settings, env } = world;
    await produceAll(world.producer, env.topic, fullSyncSeed(world.traffic, settings), `seed ${settings.fullSyncConversations} conversations`);
    await world.waitApplied('consumer applies seed');
    const syncUrl = `${world.api.url}/conversation/sync`;
    const fullBody = JSON.stringify({ uid: FULL_SYNC_USER, msg_count: 1 });
    // Applied is not yet closed: until every partition's closed version passes the seed, answers
    // report its conversations at W and an incremental sync from there sends them again.
    let lastIncremental = '';
    const { fullAnswer, conversations, highestVersion, incrementalBody, incrementalAnswer } = await waitFor(
      'an incremental sync with the latest version of the full answer to answer []',
      async () => {
        const full = await post(syncUrl, fullBody);
        const list = parseExactJson(full) as { version: bigint | number }[];
        if (!Array.isArray(list) || list.length !== settings.fullSyncConversations) {
          throw new Error(`full sync answered ${Array.isArray(list) ? list.length : 'no list'} conversations, expected ${settings.fullSyncConversations}`);
        }
        const highest = list.reduce((max, c) => (BigInt(c.version) > max ? BigInt(c.version) : max), 0n);
        const body = `{"uid":${JSON.stringify(FULL_SYNC_USER)},"version":${highest},"msg_count":1}`;
        lastIncremental = await post(syncUrl, body);
        const closed = lastIncremental.trim() === '[]';
        return closed && { fullAnswer: full, conversations: list.length, highestVersion: highest, incrementalBody: body, incrementalAnswer: lastIncremental };
      },
      30_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; it last answered ${lastIncremental.slice(0, 300)}`);
    });
    const files = { full: join(world.tmpDir, `full-answer-${process.pid}.json`), incremental: join(world.tmpDir, `incremental-answer-${process.pid}.json`) };
    world.files.push(files.full, files.incremental);
    writeFileSync(files.full, fullAnswer);
    writeFileSync(files.incremental, incrementalAnswer);
    const generator = await LoadGenerator.start(world.children);
    const rig = new SyncRig(world, syncUrl, fullBody, fullAnswer, conversations, highestVersion, incrementalBody, incrementalAnswer, generator, files);
    world.stoppables.add(rig);
    return rig;
  }

  /**
   * One server's two loads with one body: back to back over all connections
   * for `loadSeconds` (after a warm-up if asked), then at a steady `latencyRate`.
   */
  async measure(label: string, url: string, body: string, serverPid: number | undefined, warmUp: boolean): Promise<ServerLoads> {
    const saturated = await this.measureSaturated(label, url, body, serverPid, warmUp);
    const paced = await this.generator.run(`${label} at ${this.world.settings.latencyRate}/s`, url, body, this.paced(serverPid));
    return { saturated, paced };
  }

  /** Back to back over all connections, for `loadSeconds`. */
  saturate(serverPid: number | undefined): LoadOptions {
    return { connections: this.world.settings.connections, seconds: this.world.settings.loadSeconds, serverPid };
  }

  /** At a steady `latencyRate` requests/s, each timed from when it was due. */
  paced(serverPid: number | undefined): PacedOptions {
    const { settings } = this.world;
    return { ...this.saturate(serverPid), seconds: settings.latencySeconds, rate: settings.latencyRate, warmupSeconds: 1 };
  }

  get warmUp(): LoadOptions {
    return { connections: this.world.settings.connections, seconds: this.world.settings.warmupSeconds };
  }

  /** Back to back only, for `loadSeconds`, after a warm-up unless told otherwise. */
  async measureSaturated(label: string, url: string, body: string, serverPid: number | undefined, warmUp = true): Promise<LoadResult> {
    if (warmUp) await this.generator.run(`warm-up (${label})`, url, body, this.warmUp);
    return this.generator.run(label, url, body, this.saturate(serverPid));
  }

  /** A baseline server's sync URL; started on first use, checked to answer the same bytes. */
  baselineUrl(server: BaselineServer = 'bare'): Promise<string> {
    let url = this.baselineUrls.get(server);
    if (!url) this.baselineUrls.set(server, (url = this.startBaselineServer(server)));
    return url;
  }

  baselinePid(server: BaselineServer = 'bare'): number | undefined {
    return this.baselineChildren.get(server)?.pid;
  }

  async stop(): Promise<void> {
    for (const child of this.baselineChildren.values()) child.kill('SIGTERM');
    this.generator.stop();
    this.world.stoppables.delete(this);
  }

  private async startBaselineServer(server: BaselineServer): Promise<string> {
    const port = await freePort();
    const child = fork(join(__dirname, '..', 'children', BASELINE_SCRIPTS[server]), [String(port), this.files.full, this.files.incremental], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: ['-r', join(__dirname, '..', 'ts-register.js')],
    });
    this.baselineChildren.set(server, child);
    this.world.children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`${server} baseline server exited with ${code}`)));
    });
    const url = `http://127.0.0.1:${port}/conversation/sync`;
    if ((await post(url, this.fullBody)) !== this.fullAnswer) throw new Error(`the ${server} baseline server does not answer the same bytes`);
    return url;
  }
}

/** bare: Fastify alone; nest: the API's HTTP app (createApiApp) over a stub sync service. */
export type BaselineServer = 'bare' | 'nest';

const BASELINE_SCRIPTS: Record<BaselineServer, string> = { bare: 'baseline-server.ts', nest: 'nest-floor-server.ts' };

export interface ServerLoads {
  saturated: LoadResult;
  paced: LoadResult;
}

/** The API's loads beside the baselines', as both sync phases record them. */
export interface SyncLoads {
  api: LoadResult;
  bareFastify: LoadResult;
  /** API req/s / bare Fastify req/s, back to back */
  ratio: number;
  /** the API's own Nest app over a stub sync service (the same bytes), back to back: what the framework allows */
  nestFloor: LoadResult;
  /** API req/s / the Nest floor's */
  ratioToNestFloor: number;
  apiAtLatencyRate: LoadResult;
  bareFastifyAtLatencyRate: LoadResult;
}

export function syncLoads(api: ServerLoads, bare: ServerLoads, nestFloor: LoadResult): SyncLoads {
  return {
    api: roundLoad(api.saturated),
    bareFastify: roundLoad(bare.saturated),
    ratio: round(api.saturated.rps / bare.saturated.rps, 3),
    nestFloor: roundLoad(nestFloor),
    ratioToNestFloor: round(api.saturated.rps / nestFloor.rps, 3),
    apiAtLatencyRate: roundLoad(api.paced),
    bareFastifyAtLatencyRate: roundLoad(bare.paced),
  };
}

const rigs = new WeakMap<SharedWorld, Promise<SyncRig>>();

/** One user's person channels, a few messages each (the peer writes first and last, so each has unread 1). */
function fullSyncSeed(traffic: Traffic, settings: Settings): OutRecord[] {
  const records: OutRecord[] = [];
  for (let i = 0; i < settings.fullSyncConversations; i++) {
    const peer = `bench-peer-${i.toString().padStart(3, '0')}`;
    const key = channelKeyOf(1, FULL_SYNC_USER, peer);
    const partition = traffic.partitionOf(key);
    for (let seq = 1; seq <= settings.messagesPerConversation; seq++) {
      const fromPeer = seq % 2 === 1;
      const value = fromPeer ? traffic.message(seq, peer, FULL_SYNC_USER, 1) : traffic.message(seq, FULL_SYNC_USER, peer, 1);
      records.push({ partition, key, value });
    }
  }
  return records;
}

export async function post(url: string, body: string): Promise<string> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`POST ${url} answered ${response.status}: ${text.slice(0, 300)}`);
  return text;
}
