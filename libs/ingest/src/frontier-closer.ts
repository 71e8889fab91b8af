import { ProjectionCache, ProjectionRepository } from '@cs/storage';

export interface FrontierCloserOptions {
  groupId: string;
  topic: string;
  /** The topic's partition count as Kafka's metadata says now. */
  partitionCount: () => Promise<number>;
  /** W after each tick (the lowest closed version over the partitions), for the cursor lag. */
  onFrontier: (frontier: bigint) => void;
  onError: (error: unknown) => void;
  intervalMs?: number;
  registerEveryMs?: number;
}

/**
 * The idle signal. Every tick (~20 ms) the partitions with no batch in flight
 * are closed at PostgreSQL's now (one instance at a time does it; see
 * ProjectionRepository.closeIdlePartitions), and every partition's closed
 * version is published to Redis: a consumer killed between its commit and its
 * own publication is repaired, and a flushed frontier is refilled. Every few
 * seconds the topic's partitions are registered from Kafka's metadata, so a
 * partition the topic gained counts in W before its first batch.
 */
export class FrontierCloser {
  private timer: NodeJS.Timeout | null = null;
  private lastRegistration = 0;
  private running = false;

  constructor(
    private readonly projections: ProjectionRepository,
    private readonly cache: ProjectionCache,
    private readonly options: FrontierCloserOptions,
  ) {}

  start(): void {
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
  }

  /** One tick: closing, registration when due, publication. */
  async tick(): Promise<void> {
    const { groupId, topic } = this.options;
    let closed = await this.projections.closeIdlePartitions(groupId, topic);
    if (Date.now() - this.lastRegistration >= (this.options.registerEveryMs ?? 2_000)) {
      const count = await this.options.partitionCount();
      const known = new Set(closed.map(({ partition }) => partition));
      if (Array.from({ length: count }, (_, partition) => partition).some((partition) => !known.has(partition))) {
        await this.projections.registerPartitions(groupId, topic, count);
        closed = await this.projections.closeIdlePartitions(groupId, topic);
      }
      this.lastRegistration = Date.now();
    }
    if (closed.length === 0) return;
    await this.cache.publishFrontier(closed, closed.reduce((count, { partition }) => Math.max(count, partition + 1), 0));
    this.options.onFrontier(closed.reduce((lowest, { closedVersion }) => (closedVersion < lowest ? closedVersion : lowest), closed[0].closedVersion));
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.tick()
        .catch((error) => this.options.onError(error))
        .finally(() => this.schedule());
    }, this.options.intervalMs ?? 20);
  }
}
