import { LoadResult } from './lib/http-load';
import { Figure } from './lib/report';
import { PhaseResults, ResultKey } from './phases/phase';
import { LargeAccountResult } from './phases/large-account';
import { StorageResult } from './phases/storage';

export type Comparison = '>=' | '<=' | '<' | '==';

/** One condition of a target: the typed figure it reads, compared with a threshold. */
export interface Check<R> {
  of: (result: R) => number | null;
  is: Comparison;
  than: number;
  /** after the threshold in the target's text ('/s', '× bare kafkajs') */
  unit?: string;
  /** the whole text instead (e.g. 'no errors') */
  text?: string;
}

/** A row of the bench's table: what it shows of one phase's result, and when it passes (no checks: information only). */
export interface TargetOf<K extends ResultKey> {
  id: string;
  phase: K;
  figure: string | ((result: PhaseResults[K]) => string);
  unit: string;
  measured: (result: PhaseResults[K]) => number | string | null;
  baseline?: (result: PhaseResults[K]) => number | string | null;
  ratio?: (result: PhaseResults[K]) => number | null;
  checks?: Check<PhaseResults[K]>[];
}

export type Target = { [K in ResultKey]: TargetOf<K> }[ResultKey];

function target<K extends ResultKey>(t: TargetOf<K>): Target {
  return t as unknown as Target;
}

const noErrors = (load: (r: { api: LoadResult }) => LoadResult): Check<{ api: LoadResult }> => ({
  of: (r) => load(r).non2xx + load(r).errors,
  is: '==',
  than: 0,
  text: 'no errors',
});

/** Every target of the bench, in the order of the printed table. A phase adds its rows here. */
export const TARGETS: Target[] = [
  target({
    id: 'ingest_events_per_s',
    phase: 'ingest',
    figure: 'ingest (events/s, Kafka → visible)',
    unit: '/s',
    measured: (r) => r.consumer.rate,
    baseline: (r) => r.bareKafkajs.rate,
    ratio: (r) => r.ratio,
    checks: [
      { of: (r) => r.consumer.rate, is: '>=', than: 20_000, unit: '/s' },
      { of: (r) => r.ratio, is: '>=', than: 0.5, unit: '× bare kafkajs' },
    ],
  }),
  target({
    id: 'ingest_cpu_us_per_event',
    phase: 'ingest',
    figure: 'ingest CPU per event, all processes (µs)',
    unit: 'µs',
    measured: (r) => r.consumer.cpuPerEventUs?.total ?? null,
    baseline: (r) => r.bareKafkajs.cpuPerEventUs?.total ?? null,
  }),
  target({
    id: 'ingest_cpu_per_event_vs_floor',
    phase: 'ingest',
    figure: 'ingest CPU per event, all processes, vs the ingest floor (µs)',
    unit: 'µs',
    measured: (r) => r.consumer.cpuPerEventUs?.total ?? null,
    baseline: (r) => r.floor.cpuPerEventUs.total,
    ratio: cpuPerEventToFloor,
    checks: [{ of: cpuPerEventToFloor, is: '<=', than: 1.3, unit: '× the floor (issue 14)' }],
  }),
  target({
    id: 'ingest_floor_events_per_s',
    phase: 'ingest',
    figure: 'ingest floor: least durable work, no rules (events/s)',
    unit: '/s',
    measured: (r) => r.consumer.rate,
    baseline: (r) => r.floor.rate,
    ratio: (r) => round3(r.consumer.rate / r.floor.rate),
  }),
  target({
    id: 'full_sync_rps',
    phase: 'fullSync',
    figure: 'full sync 200 conv., 32 conn. (req/s)',
    unit: '/s',
    measured: (r) => r.api.rps,
    baseline: (r) => r.bareFastify.rps,
    ratio: (r) => r.ratio,
    checks: [
      { of: (r) => r.api.rps, is: '>=', than: 1_300, unit: '/s' },
      { of: (r) => r.ratio, is: '>=', than: 0.9, unit: '× bare Fastify (issue 13; issue 5 asked 0.5×)' },
      noErrors((r) => r.api),
    ],
  }),
  ...nestFloorTargets('fullSync', 'full sync'),
  target({
    id: 'full_sync_p99_ms',
    phase: 'fullSync',
    figure: 'full sync p99 (32 conn., back to back)',
    unit: 'ms',
    measured: (r) => r.api.p99Ms,
    baseline: (r) => r.bareFastify.p99Ms,
    checks: [{ of: (r) => r.api.p99Ms, is: '<=', than: 25, unit: ' ms' }],
  }),
  target({
    id: 'full_sync_p99_at_rate_ms',
    phase: 'fullSync',
    figure: (r) => `full sync p99 at ${fmtRate(r.apiAtLatencyRate)} req/s offered`,
    unit: 'ms',
    measured: (r) => r.apiAtLatencyRate.p99Ms,
    baseline: (r) => r.bareFastifyAtLatencyRate.p99Ms,
  }),
  target({
    id: 'incremental_sync_p99_ms',
    phase: 'incrementalSync',
    figure: 'incremental, nothing new, p99 (32 conn.)',
    unit: 'ms',
    measured: (r) => r.api.p99Ms,
    baseline: (r) => r.bareFastify.p99Ms,
    checks: [{ of: (r) => r.api.p99Ms, is: '<=', than: 10, unit: ' ms' }, noErrors((r) => r.api)],
  }),
  target({
    id: 'incremental_sync_p99_at_rate_ms',
    phase: 'incrementalSync',
    figure: (r) => `incremental p99 at ${fmtRate(r.apiAtLatencyRate)} req/s offered`,
    unit: 'ms',
    measured: (r) => r.apiAtLatencyRate.p99Ms,
    baseline: (r) => r.bareFastifyAtLatencyRate.p99Ms,
    checks: [{ of: (r) => r.apiAtLatencyRate.p99Ms - r.bareFastifyAtLatencyRate.p99Ms, is: '<=', than: 2, text: "≤ bare Fastify's p99 + 2 ms (issue 13)" }],
  }),
  target({
    id: 'incremental_sync_rps',
    phase: 'incrementalSync',
    figure: 'incremental sync (req/s)',
    unit: '/s',
    measured: (r) => r.api.rps,
    baseline: (r) => r.bareFastify.rps,
    ratio: (r) => r.ratio,
  }),
  ...nestFloorTargets('incrementalSync', 'incremental sync'),
  target({
    id: 'big_group_ingest_ratio',
    phase: 'bigGroup',
    figure: (r) => `ingest with a ${r.members}-member group at ${r.rate} msg/s`,
    unit: '/s',
    measured: (r) => r.withBigGroup.rate,
    baseline: (r) => r.withoutBigGroup.rate,
    ratio: (r) => r.ratio,
    checks: [{ of: (r) => r.ratio, is: '>=', than: 0.8, text: 'drop < 20% (≥ 0.8× without)' }],
  }),
  target({
    id: 'big_group_syncs_exact',
    phase: 'bigGroup',
    figure: 'big group: sampled members exact',
    unit: '',
    measured: (r) => `${r.sampleExact}/${r.sampleChecked}`,
    checks: [{ of: (r) => r.sampleChecked - r.sampleExact, is: '==', than: 0, text: 'all exact' }],
  }),
  target({
    id: 'consumer_rss_max_mb',
    phase: 'memory',
    figure: 'consumer max RSS',
    unit: 'MB',
    measured: (r) => r.maxMb.consumer,
    checks: [{ of: (r) => r.maxMb.consumer, is: '<', than: 300, unit: ' MB' }],
  }),
  target({
    id: 'api_rss_max_mb',
    phase: 'memory',
    figure: 'API max RSS',
    unit: 'MB',
    measured: (r) => r.maxMb.api,
    checks: [{ of: (r) => r.maxMb.api, is: '<', than: 300, unit: ' MB' }],
  }),
  target({
    id: 'consumer_rss_growth',
    phase: 'memory',
    figure: (r) =>
      `consumer RSS peak, ingest run 1 → 2 (${fmtK(r.checkpoints.afterIngest?.eventsApplied ?? 0)} → ${fmtK(r.checkpoints.afterBigGroupWithout?.eventsApplied ?? 0)} events)`,
    unit: '',
    measured: (r) => `${r.consumerPeakMbPerIngestRun['ingest-1']} → ${r.consumerPeakMbPerIngestRun['ingest-2']} MB`,
    checks: [{ of: (r) => (r.consumerGrowsWithEvents ? 1 : 0), is: '==', than: 0, text: 'no growth (< +25%)' }],
  }),
  target({
    id: 'scale_out_ratio',
    phase: 'scaleOut',
    figure: (r) => `scale-out: 2 consumers × 4 in flight vs 1 × 1 (events/s; stores +${r.roundTripDelayMs} ms RTT, ${r.maxBytesPerPartition / 1024} KiB fetches)`,
    unit: '/s',
    measured: (r) => r.twoConsumers.rate,
    baseline: (r) => r.oneConsumer.rate,
    ratio: (r) => r.ratio,
    checks: [{ of: (r) => r.ratio, is: '>=', than: 3.5, unit: '×' }],
  }),
  target({
    id: 'scale_out_cores_busy',
    phase: 'scaleOut',
    figure: (r) => `scale-out: cores busy, all processes (of ${r.cores}), 2 × 4 vs 1 × 1`,
    unit: '',
    measured: (r) => r.twoConsumers.coresBusy,
    baseline: (r) => r.oneConsumer.coresBusy,
  }),
  target({
    id: 'scale_out_machine_cores_busy',
    phase: 'scaleOut',
    figure: (r) => `scale-out: cores busy, whole machine (/proc/stat, of ${r.cores}), 2 × 4 vs 1 × 1`,
    unit: '',
    measured: (r) => r.twoConsumers.machineCoresBusy,
    baseline: (r) => r.oneConsumer.machineCoresBusy,
  }),
  target({
    id: 'scale_out_cpu_bound_rate',
    phase: 'scaleOut',
    figure: (r) => `scale-out: events/s the ${r.cores} cores allow at each run's CPU per event (proxies included), 2 × 4 vs 1 × 1; ratio: 2 × 4's rate / its ceiling`,
    unit: '/s',
    measured: (r) => r.twoConsumers.cpuBoundRate,
    baseline: (r) => r.oneConsumer.cpuBoundRate,
    ratio: (r) => round3(r.twoConsumers.rate / r.twoConsumers.cpuBoundRate),
  }),
  target({
    id: 'scale_out_cpu_us_per_event',
    phase: 'scaleOut',
    figure: 'scale-out: CPU per event, all processes (µs), 2 × 4 vs 1 × 1',
    unit: 'µs',
    measured: (r) => r.twoConsumers.cpuPerEventUs.total,
    baseline: (r) => r.oneConsumer.cpuPerEventUs.total,
  }),
  target({
    id: 'scale_out_cursor_lag',
    phase: 'scaleOut',
    figure: 'scale-out: cursor lag p50 / p99 (2 × 4)',
    unit: '',
    measured: (r) => {
      const lag = r.twoConsumers.cursorLagSeconds;
      return lag === null ? `not available (no ${r.cursorLagMetric})` : `${lag.p50} / ${lag.p99} s`;
    },
  }),
  storageTarget('storage_redis', 'Redis memory (this run’s keys)', 'redisKeysMemory'),
  storageTarget('storage_postgres', 'PostgreSQL size after VACUUM', 'postgresDatabaseBytes'),
  ...(['page1', 'incremental'] as const).flatMap((kind) => (['p50', 'p99'] as const).map((p) => largeAccountTarget(kind, p))),
];

function cpuPerEventToFloor(r: PhaseResults['ingest']): number | null {
  const ours = r.consumer.cpuPerEventUs?.total;
  return ours === undefined ? null : round3(ours / r.floor.cpuPerEventUs.total);
}

/** The table's rows for the phases that ran (results without a phase's key leave its rows out). */
export function figuresOf(results: Partial<PhaseResults>, targets: Target[] = TARGETS): Figure[] {
  return targets.flatMap((t) => {
    const result = results[t.phase];
    return result === undefined ? [] : [figureOf(t as TargetOf<typeof t.phase>, result as PhaseResults[typeof t.phase])];
  });
}

function figureOf<K extends ResultKey>(t: TargetOf<K>, r: PhaseResults[K]): Figure {
  const checks = t.checks ?? [];
  return {
    id: t.id,
    figure: typeof t.figure === 'string' ? t.figure : t.figure(r),
    unit: t.unit,
    measured: t.measured(r),
    baseline: t.baseline?.(r) ?? null,
    ratio: t.ratio?.(r) ?? null,
    target: checks.map(checkText).join(' and '),
    pass: checks.length === 0 ? null : checks.every((check) => holds(check.of(r), check.is, check.than)),
  };
}

function holds(value: number | null, is: Comparison, than: number): boolean {
  if (value === null || Number.isNaN(value)) return false;
  switch (is) {
    case '>=':
      return value >= than;
    case '<=':
      return value <= than;
    case '<':
      return value < than;
    case '==':
      return value === than;
  }
}

function checkText<R>(check: Check<R>): string {
  if (check.text) return check.text;
  const symbol = { '>=': '≥', '<=': '≤', '<': '<', '==': '=' }[check.is];
  return `${symbol} ${check.than.toLocaleString('en-US')}${check.unit ?? ''}`;
}

function storageTarget(id: string, name: string, field: 'redisKeysMemory' | 'postgresDatabaseBytes'): Target {
  const growth = (r: StorageResult) => ({ first: r.afterFirstHalf[field] - r.before[field], second: r.afterSecondHalf[field] - r.afterFirstHalf[field] });
  return target({
    id,
    phase: 'storage',
    figure: (r) => `${name} growth, 2nd ${r.messagesPerHalf / 1000}k messages vs 1st (${r.channels} channels)`,
    unit: '',
    measured: (r) => `${mb(growth(r).first)} → +${mb(growth(r).second)} MB`,
    ratio: (r) => r.secondHalfGrowthRatio[field],
    checks: [{ of: (r) => r.secondHalfGrowthRatio[field], is: '<', than: 0.1, text: '< 10% of the 1st half' }],
  });
}

/** The large account's latency against the small one's, in the same run. */
/**
 * The Nest floor (the API's own app over a stub service, the same bytes): against
 * bare Fastify, what the framework leaves of the bare rate; the API against it,
 * what the sync's own work (stamp read, answer cache) costs.
 */
function nestFloorTargets(phase: 'fullSync' | 'incrementalSync', kind: string): Target[] {
  const id = `${phase === 'fullSync' ? 'full' : 'incremental'}_sync_nest_floor`;
  return [
    target({
      id: `${id}_rps`,
      phase,
      figure: `${kind}: the API's Nest app over a stub service (req/s) vs bare Fastify`,
      unit: '/s',
      measured: (r) => r.nestFloor.rps,
      baseline: (r) => r.bareFastify.rps,
      ratio: (r) => round3(r.nestFloor.rps / r.bareFastify.rps),
    }),
    target({
      id: `${id}_api_ratio`,
      phase,
      figure: `${kind}: the API (req/s) vs its Nest app over a stub service`,
      unit: '/s',
      measured: (r) => r.api.rps,
      baseline: (r) => r.nestFloor.rps,
      ratio: (r) => r.ratioToNestFloor,
    }),
  ];
}

function largeAccountTarget(kind: 'page1' | 'incremental', p: 'p50' | 'p99'): Target {
  const ratio = (r: LargeAccountResult) => (r[kind].small[p] > 0 ? round3(r[kind].large[p] / r[kind].small[p]) : null);
  return target({
    id: `largeAccount.${kind}.${p}`,
    phase: 'largeAccount',
    figure: (r) => `${kind === 'page1' ? 'uncached page 1' : 'incremental after one message'} ${p}, ${r.conversations.large} vs ${r.conversations.small} conversations`,
    unit: 'ms',
    measured: (r) => r[kind].large[p],
    baseline: (r) => r[kind].small[p],
    ratio,
    checks: [{ of: ratio, is: '<=', than: 1.5, text: '≤ 1.5× the small account' }],
  });
}

function mb(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function fmtRate(l: LoadResult): string {
  return (l.offeredRate ?? 0).toLocaleString('en-US');
}

function fmtK(n: number): string {
  return n >= 1000 ? `${Math.round(n / 1000)}k` : String(n);
}
