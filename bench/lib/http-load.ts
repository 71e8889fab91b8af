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
  const uncounted = Math.round(rate * warmupSeconds);
  const total = uncounted + Math.round(rate * seconds);
  let cpuBefore: number | null = null;
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  try {
    const start = performance.now();
    let measuredFrom = start;
    let timeouts = 0;
    await new Promise<void>((done) => {
      let sent = 0;
      let settled = 0;
      // Requests still open this long after the last one was due count as timeouts.
      const deadline = setTimeout(() => {
        timeouts = total - settled;
        done();
      }, (warmupSeconds + seconds + PACED_GRACE_SECONDS) * 1000);
      const send = (due: number, counted: boolean) => {
        let finished = false;
        const finish = (outcome: 'ok' | 'non2xx' | 'error') => {
          if (finished) return;
          finished = true;
          if (++settled === total) {
            clearTimeout(deadline);
            done();
          }
          if (!counted) return;
          if (outcome === 'ok') latencies.push(performance.now() - due);
          else if (outcome === 'non2xx') non2xx++;
          else errors++;
        };
        const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
          res.on('data', () => undefined);
          res.on('end', () => finish(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300 ? 'ok' : 'non2xx'));
          res.on('error', () => finish('error'));
        });
        req.on('error', () => finish('error'));
        req.end(body);
      };
      const tick = () => {
        const now = performance.now();
        for (let due = start + (sent * 1000) / rate; sent < total && due <= now; due = start + (sent * 1000) / rate) {
          if (sent === uncounted) {
            measuredFrom = due;
            cpuBefore = serverPid === undefined ? null : cpuSeconds(serverPid);
          }
          send(due, sent >= uncounted);
          sent++;
        }
        if (sent < total) setTimeout(tick, Math.max(0, start + (sent * 1000) / rate - performance.now()));
      };
      tick();
    });
    const elapsed = (performance.now() - measuredFrom) / 1000;
    latencies.sort((a, b) => a - b);
    const at = (q: number) => (latencies.length === 0 ? 0 : round2(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]));
    return {
      connections,
      offeredRate: rate,
      seconds: elapsed,
      requests: total - uncounted,
      rps: latencies.length / elapsed,
      p50Ms: at(0.5),
      p90Ms: at(0.9),
      p99Ms: at(0.99),
      maxMs: latencies.length === 0 ? 0 : round2(latencies[latencies.length - 1]),
      non2xx,
      errors,
      timeouts,
      serverCpuMsPerRequest: perRequest(cpuMsSince(cpuBefore, serverPid), total - uncounted),
    };
  } finally {
    agent.destroy();
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
