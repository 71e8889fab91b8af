import { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { TUNING } from '@cs/config';
import { BatchApplier, BatchOutcome } from '@cs/ingest';

export interface FetchLimits {
  /** Partition batches in flight: while one holds the version clock, the next loads its records. Each holds its records in memory. */
  partitionsInFlight: number;
  /** Bounds a batch (and so the consumer's memory). */
  maxBytesPerPartition: number;
}

export interface IngestListener {
  batchApplied(partition: number, outcome: BatchOutcome, durationMs: number, offsetLag: string): void;
  batchFailed(partition: number, error: unknown, attempt: number): void;
}

/** One listener that tells each of `listeners`, in order. */
export function eachListener(...listeners: IngestListener[]): IngestListener {
  return {
    batchApplied: (...args) => listeners.forEach((listener) => listener.batchApplied(...args)),
    batchFailed: (...args) => listeners.forEach((listener) => listener.batchFailed(...args)),
  };
}

/**
 * The Kafka side of ingestion: joins the group, hands each partition batch to
 * the applier, and retries a failed batch with backoff (PostgreSQL or Redis
 * away) until it lands or the partition is taken away. Offsets committed to
 * Kafka only save work on restart; the PostgreSQL checkpoint is what counts.
 */
export class KafkaIngest {
  private readonly consumer: Consumer;
  private joined = false;
  /** Partitions already checked against their PostgreSQL checkpoint since this process started. */
  private readonly checkedPartitions = new Set<number>();

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    groupId: string,
    private readonly applier: BatchApplier,
    private readonly listener: IngestListener,
    private readonly limits: FetchLimits,
  ) {
    this.consumer = kafka.consumer({
      groupId,
      sessionTimeout: TUNING.ingest.sessionTimeoutMs,
      heartbeatInterval: TUNING.ingest.heartbeatIntervalMs,
      rebalanceTimeout: TUNING.ingest.rebalanceTimeoutMs,
      metadataMaxAge: TUNING.ingest.metadataMaxAgeMs,
      maxBytesPerPartition: limits.maxBytesPerPartition,
      maxBytes: limits.maxBytesPerPartition * Math.max(TUNING.ingest.partitionsPerFetch, limits.partitionsInFlight),
      retry: { ...TUNING.ingest.consumerRetry },
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => (this.joined = true));
    this.consumer.on(this.consumer.events.REBALANCING, () => (this.joined = false));
    this.consumer.on(this.consumer.events.CRASH, () => (this.joined = false));
    this.consumer.on(this.consumer.events.STOP, () => (this.joined = false));
  }

  get isJoined(): boolean {
    return this.joined;
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: true,
      eachBatchAutoResolve: false,
      // Batches of different partitions write and commit side by side (each in flight holds its records in memory).
      partitionsConsumedConcurrently: this.limits.partitionsInFlight,
      eachBatch: (payload) => this.handleBatch(payload),
    });
  }

  /** Leaves the group; a batch in flight finishes or is abandoned uncommitted. */
  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }

  /**
   * Applies the batch, retrying with backoff while storage fails. Errors from
   * Kafka itself (heartbeat or commit during a rebalance) are thrown to kafkajs,
   * which rejoins the group; whatever is redelivered then is skipped by the
   * PostgreSQL checkpoint.
   */
  private async handleBatch({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary }: EachBatchPayload): Promise<void> {
    if (batch.messages.length === 0) return;
    for (let attempt = 1; isRunning() && !isStale(); attempt++) {
      const started = performance.now();
      // Once per partition, a batch past the checkpoint is rewound instead of applied (a log
      // truncated by retention cannot start at the checkpoint; after one rewind we take what is there).
      const allowRewind = !this.checkedPartitions.has(batch.partition);
      let outcome: BatchOutcome;
      try {
        outcome = await this.applier.apply(batch.topic, batch.partition, batch.messages, allowRewind);
      } catch (error) {
        this.listener.batchFailed(batch.partition, error, attempt);
        await delay(Math.min(100 * 2 ** attempt, TUNING.ingest.maxBatchRetryDelayMs));
        await heartbeat();
        continue;
      }
      this.checkedPartitions.add(batch.partition);
      if (outcome.rewindTo !== undefined) {
        this.consumer.seek({ topic: batch.topic, partition: batch.partition, offset: outcome.rewindTo });
        return;
      }
      this.listener.batchApplied(batch.partition, outcome, performance.now() - started, batch.offsetLag());
      resolveOffset(batch.lastOffset());
      await heartbeat();
      await commitOffsetsIfNecessary();
      return;
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
