import { BatchOutcome } from '@cs/ingest';
import { Logger } from '@cs/observability';
import { VacuumRepository } from '@cs/storage';
import { IngestListener } from './kafka-ingest';

/**
 * Keeps PostgreSQL's size flat under retention: each batch deletes as many
 * messages as it adds and rewrites conversations outside their pages, and
 * that space is reused only after a VACUUM, which
 * autovacuum runs at most once per server-wide naptime (or never, where it is
 * off). So every POSTGRES_VACUUM_INTERVAL_MS, while batches are being applied,
 * one instance at a time vacuums the tables batches leave dead rows in
 * (messages, conversations). Each batch asks for two more vacuums: one that
 * starts while a transaction older than the batch is still open (the frontier
 * closer runs one every few ms) cannot remove the batch's dead rows, and the
 * next one, an interval later, can.
 */
export class MessageVacuum implements IngestListener {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private vacuumsWanted = 0;

  constructor(
    private readonly repository: VacuumRepository,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.intervalMs === 0) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a vacuum in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  batchApplied(_partition: number, outcome: BatchOutcome): void {
    if (outcome.applied > 0) this.vacuumsWanted = VACUUMS_AFTER_A_BATCH;
  }

  batchFailed(): void {}

  private tick(): void {
    if (this.running || this.vacuumsWanted === 0) return;
    this.vacuumsWanted--;
    const started = performance.now();
    this.running = this.repository
      .vacuumChurnedTables()
      .then(
        (ran) => this.log.debug(ran ? 'vacuumed messages and conversations' : 'another instance is vacuuming', { ms: Math.round(performance.now() - started) }),
        (error) => {
          this.vacuumsWanted = Math.max(this.vacuumsWanted, 1);
          this.log.warn('vacuum failed, will retry', { error });
        },
      )
      .finally(() => (this.running = undefined));
  }
}

const VACUUMS_AFTER_A_BATCH = 2;
