/**
 * The HTTP load generators. They run in a child process of their own
 * (bench/children/load-generator.ts, driven by LoadGenerator below): the
 * bench process holds the generated traffic, and its garbage collection
 * pauses would otherwise show up as server latency.
 */
import autocannon from 'autocannon';
import { ChildProcess, fork } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { timedProgress } from './progress';
import { cpuSeconds } from './rss';

export interface LoadResult {
  connections: number;
  /** requests/s offered by all connections together; null when they send back to back (saturation) */
  offeredRate: number | null;
  seconds: number;
  requests: number;
  /** 2xx answers per second */
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** CPU the server process used per answered request */
  serverCpuMsPerRequest: number | null;
}

export interface LoadOptions {
  connections: number;
  seconds: number;
  /** the server's pid, to report its CPU per request */
  serverPid?: number;
}

export interface PacedOptions extends LoadOptions {
  /** requests/s offered by all connections together */
  rate: number;
  /** sent at the same pace before the measured seconds, not counted */
  warmupSeconds: number;
}

export interface LoadRequest {
  url: string;
  body: string;
  /** back to back when no `rate` is given */
  options: LoadOptions | PacedOptions;
}

/** Drives the load generator child: one load at a time, with a progress bar here. */
export class LoadGenerator {
  private constructor(private readonly child: ChildProcess) {}

  static async start(children: ChildProcess[]): Promise<LoadGenerator> {
    const child = fork(join(__dirname, '..', 'children', 'load-generator.ts'), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: ['-r', join(__dirname, '..', 'ts-register.js')],
    });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`load generator exited with ${code}`)));
    });
    return new LoadGenerator(child);
  }

  async run(label: string, url: string, body: string, options: LoadOptions | PacedOptions): Promise<LoadResult> {
    const bar = timedProgress(label, options.seconds + ('warmupSeconds' in options ? options.warmupSeconds : 0));
    try {
      return await new Promise<LoadResult>((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`load generator exited with ${code}`));
        this.child.once('exit', onExit);
        this.child.once('message', (reply: { result?: LoadResult; error?: string }) => {
          this.child.off('exit', onExit);
          if (reply.result) resolve(reply.result);
          else reject(new Error(`load generator: ${reply.error}`));
        });
        this.child.send({ url, body, options } satisfies LoadRequest);
      });
    } finally {
      bar.stop();
    }
  }

  stop(): void {
    this.child.disconnect();
  }
}

export function runLoad({ url, body, options }: LoadRequest): Promise<LoadResult> {
  return 'rate' in options ? pacedLoad(url, body, options) : saturatedLoad(url, body, options);
}

/** `connections` keep-alive connections POSTing `body` back to back for `seconds` (autocannon): the throughput at saturation. */
async function saturatedLoad(url: string, body: string, options: LoadOptions): Promise<LoadResult> {
  const { connections, seconds, serverPid } = options;
  const cpuBefore = serverPid === undefined ? null : cpuSeconds(serverPid);
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    duration: seconds,
    pipelining: 1,
  });
  return {
    connections,
    offeredRate: null,
    seconds: result.duration,
    requests: result.requests.total,
    rps: result['2xx'] / result.duration,
    p50Ms: result.latency.p50,
    p90Ms: result.latency.p90,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    serverCpuMsPerRequest: perRequest(cpuMsSince(cpuBefore, serverPid), result.requests.total),
  };
}

/**
 * The latency at a given load: `rate` requests/s in all, each sent when it is
 * due (request i at start + i/rate) over at most `connections` keep-alive
 * connections, for `seconds`; a request waiting for a free connection waits
 * on the clock. Latency counts from when the request was due, not from when
 * it could be sent, so a stall shows in every request it delays (no
 * coordinated omission). Not autocannon's `overallRate`: that sends each
 * connection's share of a second back to back at the start of the second
 * (httpClient.js), so its latencies are those of a burst at saturation.
 */
async function pacedLoad(url: string, body: string, options: PacedOptions): Promise<LoadResult> {
  const { connections, seconds, serverPid, rate, warmupSeconds } = options;
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  // The first requests open the connections and warm both sides up: sent at the same pace, not counted.
  const run = new PacedRun({ url, body, agent, serverPid }, rate, Math.round(rate * warmupSeconds), Math.round(rate * seconds));
  try {
    await run.finished((warmupSeconds + seconds + PACED_GRACE_SECONDS) * 1000);
    const elapsed = (performance.now() - run.measuredFrom) / 1000;
    const latencies = run.latencies.sort((a, b) => a - b);
    const at = (q: number) => (latencies.length === 0 ? 0 : round2(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]));
    return {
      connections,
      offeredRate: rate,
      seconds: elapsed,
      requests: run.counted,
      rps: latencies.length / elapsed,
      p50Ms: at(0.5),
      p90Ms: at(0.9),
      p99Ms: at(0.99),
      maxMs: latencies.length === 0 ? 0 : round2(latencies[latencies.length - 1]),
      non2xx: run.non2xx,
      errors: run.errors,
      timeouts: run.timeouts,
      serverCpuMsPerRequest: perRequest(cpuMsSince(run.cpuBefore, serverPid), run.counted),
    };
  } finally {
    agent.destroy();
  }
}

/** One paced load: request i is due at start + i/rate; the first `uncounted` are not measured. */
class PacedRun {
  readonly latencies: number[] = [];
  non2xx = 0;
  errors = 0;
  timeouts = 0;
  /** when the first measured request was due */
  measuredFrom = 0;
  /** the server's CPU seconds then */
  cpuBefore: number | null = null;
  private readonly start = performance.now();
  private readonly total: number;
  private sent = 0;
  private settled = 0;
  private done: () => void = () => undefined;

  constructor(
    private readonly target: { url: string; body: string; agent: Agent; serverPid?: number },
    private readonly rate: number,
    private readonly uncounted: number,
    readonly counted: number,
  ) {
    this.total = uncounted + counted;
  }

  /** Sends everything on schedule; resolves when every request ended, or after `deadlineMs` (the rest count as timeouts). */
  finished(deadlineMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const deadline = setTimeout(() => {
        this.timeouts = this.total - this.settled;
        resolve();
      }, deadlineMs);
      this.done = () => {
        clearTimeout(deadline);
        resolve();
      };
      this.tick();
    });
  }

  private dueAt(i: number): number {
    return this.start + (i * 1000) / this.rate;
  }

  private tick(): void {
    const now = performance.now();
    for (; this.sent < this.total && this.dueAt(this.sent) <= now; this.sent++) {
      const due = this.dueAt(this.sent);
      if (this.sent === this.uncounted) {
        this.measuredFrom = due;
        this.cpuBefore = this.target.serverPid === undefined ? null : cpuSeconds(this.target.serverPid);
      }
      this.send(due, this.sent >= this.uncounted);
    }
    if (this.sent < this.total) setTimeout(() => this.tick(), Math.max(0, this.dueAt(this.sent) - performance.now()));
  }

  private send(due: number, counted: boolean): void {
    const { url, body, agent } = this.target;
    let ended = false;
    const end = (outcome: 'ok' | 'non2xx' | 'error') => {
      if (ended) return;
      ended = true;
      if (counted) this.record(outcome, due);
      if (++this.settled === this.total) this.done();
    };
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => end(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300 ? 'ok' : 'non2xx'));
      res.on('error', () => end('error'));
    });
    req.on('error', () => end('error'));
    req.end(body);
  }

  private record(outcome: 'ok' | 'non2xx' | 'error', due: number): void {
    if (outcome === 'ok') this.latencies.push(performance.now() - due);
    else if (outcome === 'non2xx') this.non2xx++;
    else this.errors++;
  }
}

const PACED_GRACE_SECONDS = 30;

function cpuMsSince(before: number | null, pid: number | undefined): number | null {
  const after = pid === undefined ? null : cpuSeconds(pid);
  return before === null || after === null ? null : (after - before) * 1000;
}

function perRequest(cpuMs: number | null, requests: number): number | null {
  return cpuMs === null || requests === 0 ? null : Math.round((cpuMs / requests) * 1000) / 1000;
}

function round2(ms: number): number {
  return Math.round(ms * 100) / 100;
}
