import autocannon from 'autocannon';
import { timedProgress } from './progress';
import { cpuSeconds } from './rss';

export interface LoadResult {
  connections: number;
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

/** `connections` keep-alive connections POSTing `body` back to back for `seconds` (autocannon, in this process). */
export async function load(label: string, url: string, body: string, connections: number, seconds: number, serverPid?: number): Promise<LoadResult> {
  const bar = timedProgress(label, seconds);
  const cpuBefore = serverPid === undefined ? null : cpuSeconds(serverPid);
  try {
    const result = await autocannon({
      url,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      connections,
      duration: seconds,
      pipelining: 1,
    });
    const ok = result['2xx'];
    const cpuAfter = serverPid === undefined ? null : cpuSeconds(serverPid);
    const cpuMs = cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) * 1000;
    return {
      connections,
      seconds: result.duration,
      requests: result.requests.total,
      rps: ok / result.duration,
      p50Ms: result.latency.p50,
      p90Ms: result.latency.p90,
      p99Ms: result.latency.p99,
      maxMs: result.latency.max,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      serverCpuMsPerRequest: cpuMs === null || result.requests.total === 0 ? null : Math.round((cpuMs / result.requests.total) * 1000) / 1000,
    };
  } finally {
    bar.stop();
  }
}
