import { execFileSync } from 'node:child_process';
import { cpus, totalmem, release } from 'node:os';

export interface Figure {
  id: string;
  figure: string;
  unit: string;
  measured: number | string | null;
  baseline: number | string | null;
  /** measured / baseline where that means something */
  ratio: number | null;
  target: string;
  /** null: informational, no target */
  pass: boolean | null;
}

export function printTable(figures: Figure[]): string {
  const header = ['figure', 'measured', 'baseline', 'ratio', 'target', 'result'];
  const rows = figures.map((f) => [
    f.figure,
    formatValue(f.measured, f.unit),
    formatValue(f.baseline, f.unit),
    f.ratio === null ? '' : `${f.ratio.toFixed(2)}×`,
    f.target,
    f.pass === null ? 'info' : f.pass ? 'PASS' : 'FAIL',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i >= 1 && i <= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

function formatValue(value: number | string | null, unit: string): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })}${unit ? ` ${unit}` : ''}`;
}

export function machineInfo(): Record<string, unknown> {
  return {
    nproc: Number(run('nproc') ?? cpus().length),
    cpuModel: cpus()[0]?.model ?? null,
    memoryMb: Math.round(totalmem() / 1024 / 1024),
    node: process.version,
    platform: `${process.platform} ${release()}`,
    loadAverage: run('cat', ['/proc/loadavg'])?.split(' ').slice(0, 3).map(Number) ?? null,
  };
}

export function gitInfo(): { commit: string | null; short: string; dirty: boolean | null } {
  const commit = run('git', ['rev-parse', 'HEAD']);
  const status = run('git', ['status', '--porcelain']);
  return { commit, short: commit ? commit.slice(0, 7) : 'nogit', dirty: status === null ? null : status.length > 0 };
}

function run(command: string, args: string[] = []): string | null {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}
