import { BatchOutcome, nowNs } from '@cs/ingest';
import { Logger } from '@cs/observability';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { IngestListener } from './kafka-ingest';

/** The consumer's Prometheus metrics and log lines, fed by KafkaIngest. */
export class IngestMetrics implements IngestListener {
  private readonly applied: Counter;
  private readonly byType: Counter<'type'>;
  private readonly deadLetters: Counter;
  private readonly skipped: Counter;
  private readonly failures: Counter;
  private readonly loadedUnderClock: Counter;
  private readonly redisWritesRefused: Counter;
  private readonly batchDuration: Histogram;
  private readonly lag: Gauge<'partition'>;
  private frontier: bigint | null = null;

  constructor(
    registry: Registry,
    private readonly log: Logger,
  ) {
    this.applied = new Counter({ name: 'conversation_sync_events_applied_total', help: 'Valid events applied to the projections', registers: [registry] });
    this.byType = new Counter({ name: 'conversation_sync_events_total', help: 'Valid events applied, by type', labelNames: ['type'], registers: [registry] });
    this.deadLetters = new Counter({ name: 'conversation_sync_dead_letters_total', help: 'Invalid events sent to the dead-letter topic', registers: [registry] });
    this.skipped = new Counter({ name: 'conversation_sync_events_skipped_total', help: 'Redelivered records at or below the checkpoint, skipped', registers: [registry] });
    this.failures = new Counter({ name: 'conversation_sync_batch_failures_total', help: 'Batch attempts that failed and were retried', registers: [registry] });
    this.loadedUnderClock = new Counter({
      name: 'conversation_sync_batches_loaded_under_clock_total',
      help: 'Batches whose records had to be loaded under their partition lock (early load stale, or an event not keyed by its channel)',
      registers: [registry],
    });
    this.redisWritesRefused = new Counter({
      name: 'conversation_sync_redis_writes_refused_total',
      help: "Record writes Redis refused as older than what it held (a stalled consumer's late batch, or a batch a rebuild ran above); Redis was rebuilt from PostgreSQL each time",
      registers: [registry],
    });
    this.batchDuration = new Histogram({
      name: 'conversation_sync_batch_duration_seconds',
      help: 'Time to apply one partition batch (its early load, one PostgreSQL transaction and its Redis writes)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    this.lag = new Gauge({ name: 'conversation_sync_consumer_lag', help: 'Records behind the partition end after the last batch', labelNames: ['partition'], registers: [registry] });
    const metrics = this;
    new Gauge({
      name: 'conversation_sync_cursor_lag_seconds',
      help: 'Now minus W, the lowest closed version over the partitions: how far behind the time clients can safely sync to',
      registers: [registry],
      collect() {
        if (metrics.frontier !== null) this.set(Number(nowNs() - metrics.frontier) / 1e9);
      },
    });
  }

  /** W as the closer last published it. */
  frontierClosed(frontier: bigint): void {
    this.frontier = frontier;
  }

  batchApplied(partition: number, outcome: BatchOutcome, durationMs: number, offsetLag: string): void {
    this.applied.inc(outcome.applied);
    for (const [type, count] of Object.entries(outcome.eventsByType)) this.byType.inc({ type }, count);
    this.deadLetters.inc(outcome.deadLetters);
    this.skipped.inc(outcome.skipped);
    if (outcome.loadedUnderClock) this.loadedUnderClock.inc();
    if (outcome.redisWritesRefused > 0) {
      this.redisWritesRefused.inc(outcome.redisWritesRefused);
      this.log.warn('redis refused writes older than what it held: rebuilt it from PostgreSQL', { partition, refused: outcome.redisWritesRefused });
    }
    this.batchDuration.observe(durationMs / 1000);
    this.lag.set({ partition: String(partition) }, Number(offsetLag));
    this.log.debug('batch applied', { partition, ...outcome, durationMs: Math.round(durationMs) });
  }

  batchFailed(partition: number, error: unknown, attempt: number): void {
    this.failures.inc();
    this.log.warn('batch failed, retrying', { partition, attempt, error });
  }
}
