import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface RssSample {
  /** seconds since the sampler started */
  t: number;
  phase: string;
  /** MB per role, absent when the process is not running */
  mb: Record<string, number>;
}

/**
 * Samples VmRSS (/proc/<pid>/status) of the tracked processes every 500 ms
 * through the whole run.
 */
export class RssSampler {
  readonly samples: RssSample[] = [];
  private readonly pids = new Map<string, number>();
  private readonly started = performance.now();
  private timer?: NodeJS.Timeout;
  phase = 'start';

  track(role: string, pid: number): void {
    this.pids.set(role, pid);
    this.sample();
  }

  untrack(role: string): void {
    this.pids.delete(role);
  }

  start(intervalMs = 500): void {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Takes a sample now and returns it (used for the "after phase X" readings). */
  sample(): RssSample {
    const mb: Record<string, number> = {};
    for (const [role, pid] of this.pids) {
      const value = rssMb(pid);
      if (value !== null) mb[role] = value;
    }
    const sample = { t: round((performance.now() - this.started) / 1000, 1), phase: this.phase, mb };
    this.samples.push(sample);
    return sample;
  }

  max(role: string, phase?: string): number | null {
    let max: number | null = null;
    for (const sample of this.samples) {
      if (phase !== undefined && sample.phase !== phase) continue;
      const value = sample.mb[role];
      if (value !== undefined && (max === null || value > max)) max = value;
    }
    return max;
  }
}

export function rssMb(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? round(Number(match[1]) / 1024, 1) : null;
  } catch {
    return null;
  }
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; null once it is gone. */
export function cpuSeconds(pid: number, withReapedChildren = false): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // after "pid (comm) ": state is field 0, utime 11, stime 12, then cutime 13 and cstime 14 (children waited for)
    const own = Number(fields[11]) + Number(fields[12]);
    return (withReapedChildren ? own + Number(fields[13]) + Number(fields[14]) : own) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** The whole machine's CPU time so far (/proc/stat's first line, in ticks): busy (all but idle and iowait) and in all. */
export interface MachineCpu {
  busy: number;
  total: number;
}

export function machineCpu(): MachineCpu {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = ticks.map(Number);
  return { busy: user + nice + system + irq + softirq + steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

/**
 * Cores the whole machine kept busy since `before`: every process (the proxies,
 * the bench, the kernel's network work included), so it shows whether the cores
 * themselves were the limit. Steal counts as busy: those cycles were not ours to use.
 */
export function machineCoresBusySince(before: MachineCpu, cores: number): number {
  const now = machineCpu();
  const total = now.total - before.total;
  return total > 0 ? round(((now.busy - before.busy) / total) * cores, 2) : 0;
}

export interface ServicesCpu {
  postgres: number;
  redis: number;
  kafka: number;
}

/**
 * CPU seconds used so far by every PostgreSQL, Redis and Kafka broker process
 * on the machine. A process that ended (a PostgreSQL backend whose connection
 * closed) still counts: its time moves to its parent's children's time, which is summed too.
 */
export function servicesCpuSeconds(): ServicesCpu {
  const total: ServicesCpu = { postgres: 0, redis: 0, kafka: 0 };
  for (const [name, pattern] of [['postgres', 'postgres'], ['redis', 'redis-server'], ['kafka', 'kafka\\.Kafka']] as const) {
    const pids = execSync(`pgrep -f '${pattern}' || true`).toString().split('\n').filter(Boolean);
    for (const pid of pids) total[name] += cpuSeconds(Number(pid), true) ?? 0;
  }
  return total;
}

export function servicesCpuSince(before: ServicesCpu): ServicesCpu {
  const now = servicesCpuSeconds();
  return { postgres: now.postgres - before.postgres, redis: now.redis - before.redis, kafka: now.kafka - before.kafka };
}

/** Runs `work`, measuring its wall time, this process's CPU and the services' CPU over it. */
export async function measureWork<T>(work: () => Promise<T>): Promise<{ result: T; seconds: number; processSeconds: number; services: ServicesCpu }> {
  const servicesBefore = servicesCpuSeconds();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const result = await work();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpuBefore);
  return { result, seconds, processSeconds: (used.user + used.system) / 1e6, services: servicesCpuSince(servicesBefore) };
}

export type CpuPerEvent = Record<'process' | 'postgres' | 'redis' | 'kafka' | 'total', number>;

/** µs of CPU per event in the measured process and in each service. */
export function cpuPerEventUs(events: number, processSeconds: number, services: ServicesCpu): CpuPerEvent {
  const us = (seconds: number) => Math.round((seconds * 1e6) / events);
  const { postgres, redis, kafka } = services;
  return { process: us(processSeconds), postgres: us(postgres), redis: us(redis), kafka: us(kafka), total: us(processSeconds + postgres + redis + kafka) };
}
