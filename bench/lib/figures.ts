import { DrainResult } from './kafka-tools';
import { LoadResult } from './http-load';
import { CpuPerEvent, cpuPerEventUs } from './rss';

/** A drain as the results record it: rounded, with its CPU per event. */
export interface DrainFigures {
  records: number;
  seconds: number;
  rate: number;
  steadyRate: number | null;
  cpuSeconds: number | null;
  coresBusy: number | null;
  cpuPerEventUs: CpuPerEvent | null;
}

export function roundDrain(d: DrainResult): DrainFigures {
  return {
    records: d.records,
    seconds: round(d.seconds, 3),
    rate: round(d.rate, 0),
    steadyRate: d.steadyRate === null ? null : round(d.steadyRate, 0),
    cpuSeconds: d.cpuSeconds === null ? null : round(d.cpuSeconds, 2),
    coresBusy: d.cpuSeconds === null ? null : round(d.cpuSeconds / d.seconds, 2),
    cpuPerEventUs: cpuPerEvent(d),
  };
}

/** µs of CPU per record in the measured process and in each service over the drain: what bounds the rate on 2 cores. */
export function cpuPerEvent(d: DrainResult): CpuPerEvent | null {
  return d.cpuSeconds === null || d.servicesCpu === null ? null : cpuPerEventUs(d.records, d.cpuSeconds, d.servicesCpu);
}

export function roundLoad(l: LoadResult): LoadResult {
  return { ...l, rps: round(l.rps, 1), seconds: round(l.seconds, 2) };
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
