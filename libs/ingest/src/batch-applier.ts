import {
  DEFAULT_RECENT_MESSAGES_KEPT,
  DEFAULT_SMALL_GROUP_MAX_MEMBERS,
  ImEvent,
  RecordsNeeded,
  allocateVersions,
  channelKeyOfEvent,
  evolve,
  recordsNeededBy,
} from '@cs/domain';
import { ClosedPartition, LoadGuard, PartitionPosition, ProjectionCache, ProjectionRepository, encodeChanges, inTransaction } from '@cs/storage';
import { Pool, PoolClient } from 'pg';
import { DecodedRecord, decodeRecord } from './event-decoder';

export interface IncomingRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, unknown>;
}

export interface DeadLetter {
  record: IncomingRecord;
  reason: string;
}

export interface BatchOutcome {
  /**
   * Set when the batch starts after the partition's checkpoint (Kafka's group
   * offset is ahead of PostgreSQL, e.g. an emptied database): nothing was
   * applied, and the consumer must seek back to this offset.
   */
  rewindTo?: string;
  applied: number;
  skipped: number;
  deadLetters: number;
  eventsByType: Partial<Record<ImEvent['type'], number>>;
  /**
   * The batch's records were loaded under its partition's lock: the load made before it had gone
   * stale, or the batch holds an event not keyed by its channel (a producer breaking the contract).
   */
  loadedUnderClock: boolean;
  /** Writes Redis refused as older than what it holds (a stalled consumer's, or a rebuild's above this batch): Redis was rebuilt. */
  redisWritesRefused: number;
}

/** Test-only hooks (CS_TEST_*), off unless the consumer's main sets them. */
export interface BatchApplierHooks {
  /** Runs after a batch commits, before its closed version is published (the fault suite kills the consumer here). */
  beforePublish?: (partition: number) => Promise<void>;
  /** Runs inside a batch's transaction, after its writes, just before its commit. */
  beforeCommit?: (partition: number) => Promise<void>;
}

/** What a committed batch leaves to do outside its transaction. */
interface Committed {
  outcome: BatchOutcome;
  /** The closed version to publish for the partition; 'all' after work that spans partitions; null: nothing changed. */
  closed: bigint | 'all' | null;
  /** Redis was incomplete, or refused writes PostgreSQL committed: rebuild it. */
  rebuildRedis: boolean;
}

interface DecodedBatch {
  decoded: { record: IncomingRecord; result: DecodedRecord }[];
  needs: RecordsNeeded;
  /** Some event is not keyed by its channel: it may change records another partition writes too. */
  crossesPartitions: boolean;
}

/**
 * Where every event goes. A batch is decoded and its records loaded first;
 * then one PostgreSQL transaction locks the partition's checkpoint row (and
 * takes the partitions lock shared, so batches of other partitions run side
 * by side), skips what the checkpoint already covers, allocates versions above
 * the partition's last and closed versions and PostgreSQL's clock, applies the
 * events with the domain's `evolve`, writes the records, the checkpoint and the
 * new closed version, mirrors the records into Redis, and commits; then the
 * closed version is published to Redis's frontier (the closer republishes it
 * if this process dies first). Dead letters are handed to `sendDeadLetters`
 * before the commit.
 *
 * Loading first is safe because a channel's records are written only by the
 * batches of the partition its events are keyed to, one batch at a time: the
 * load is redone under the lock when the partition's checkpoint moved
 * meanwhile (another instance applied it) or its cross-partition epoch did (an
 * event keyed by another channel, a truncation). Work that spans partitions (a
 * batch with such an event, a partition's first batch, a rebuild) takes the
 * partitions lock exclusively and versions above every partition's.
 */
export class BatchApplier {
  /** Per partition, the highest version this process wrote to Redis: a retry after a failed commit goes above it. */
  private readonly written = new Map<number, bigint>();

  constructor(
    private readonly pool: Pool,
    private readonly projections: ProjectionRepository,
    private readonly cache: ProjectionCache,
    private readonly groupId: string,
    /** Sends dead letters once each; returns how many were sent now. */
    private readonly sendDeadLetters: (topic: string, partition: number, letters: DeadLetter[]) => Promise<number>,
    /** RECENT_MESSAGES_KEPT: each message window keeps this many (trimmed in every batch's writes). */
    private readonly recentMessagesKept = DEFAULT_RECENT_MESSAGES_KEPT,
    /** SMALL_GROUP_MAX_MEMBERS: see @cs/domain fan-out.ts. */
    private readonly smallGroupMaxMembers = DEFAULT_SMALL_GROUP_MAX_MEMBERS,
    private readonly hooks: BatchApplierHooks = {},
  ) {}

  async apply(topic: string, partition: number, records: IncomingRecord[], allowRewind = false): Promise<BatchOutcome> {
    try {
      return await this.applyOnce(topic, partition, records, allowRewind, null);
    } catch (error) {
      if (!isRejectedByStorage(error)) throw error;
      await this.cache.markIncomplete();
      return this.applyOneByOne(topic, partition, records);
    }
  }

  /**
   * A batch PostgreSQL refused for its data (a value validation let through
   * that the database cannot hold) is applied record by record, and the
   * record it refuses becomes a dead letter: the partition never loops on it.
   * Redis was written beside each refused save and may show what PostgreSQL
   * will never hold, so it is marked incomplete after each refusal: the next
   * write rebuilds it from PostgreSQL.
   */
  private async applyOneByOne(topic: string, partition: number, records: IncomingRecord[]): Promise<BatchOutcome> {
    const total = emptyOutcome(0);
    for (const record of records) {
      let outcome: BatchOutcome;
      try {
        outcome = await this.applyOnce(topic, partition, [record], false, null);
      } catch (error) {
        if (!isRejectedByStorage(error)) throw error;
        await this.cache.markIncomplete();
        outcome = await this.applyOnce(topic, partition, [record], false, `storage: ${(error as Error).message}`);
      }
      total.applied += outcome.applied;
      total.skipped += outcome.skipped;
      total.deadLetters += outcome.deadLetters;
      total.redisWritesRefused += outcome.redisWritesRefused;
      for (const [type, count] of Object.entries(outcome.eventsByType)) {
        total.eventsByType[type as ImEvent['type']] = (total.eventsByType[type as ImEvent['type']] ?? 0) + count;
      }
    }
    return total;
  }

  /**
   * Loads, then one transaction, then the publication of the closed version;
   * with `rejectAs`, every record is a dead letter for that reason.
   */
  private async applyOnce(
    topic: string,
    partition: number,
    records: IncomingRecord[],
    allowRewind: boolean,
    rejectAs: string | null,
  ): Promise<BatchOutcome> {
    const position = { groupId: this.groupId, topic, partition };
    const batch = decodeBatch(records, rejectAs);
    const early = batch.crossesPartitions ? null : await this.projections.loadState(this.pool, batch.needs, position, this.settings());
    // A partition without a row yet (its first batch) is registered above every partition's versions.
    const spansPartitions = early === null || early.nextOffset === null;
    const committed = await inTransaction(this.pool, (client) => this.applyInTransaction(client, position, batch, early, allowRewind, spansPartitions));
    if (committed.rebuildRedis) await this.repairCacheIfIncomplete(topic);
    if (committed.closed !== null) {
      await this.hooks.beforePublish?.(partition);
      await this.publishClosed(topic, partition, committed.closed);
    }
    return committed.outcome;
  }

  private async publishClosed(topic: string, partition: number, closed: bigint | 'all'): Promise<void> {
    if (closed !== 'all') return this.cache.publishFrontier([{ partition, closedVersion: closed }]);
    const { closed: rows } = await inTransaction(this.pool, (client) => this.projections.partitionVersions(client, this.groupId, topic));
    await this.cache.publishFrontier(rows, partitionCountOf(rows));
  }

  private async applyInTransaction(
    client: PoolClient,
    position: PartitionPosition,
    batch: DecodedBatch,
    early: Awaited<ReturnType<ProjectionRepository['loadState']>> | null,
    allowRewind: boolean,
    spansPartitions: boolean,
  ): Promise<Committed> {
    const { topic, partition } = position;
    const locked = spansPartitions ? await this.projections.lockAllPartitions(client, position) : await this.projections.lockPartition(client, position);
    // Its row went away after the early load (a truncation): the retry registers it.
    if (locked === null) throw new Error(`partition ${partition} has no checkpoint row any more; retrying`);
    const { nextOffset } = locked;
    const records = batch.decoded;
    const nothing = (outcome: BatchOutcome): Committed => ({ outcome, closed: spansPartitions ? 'all' : null, rebuildRedis: false });
    if (allowRewind && BigInt(records[0].record.offset) > BigInt(nextOffset ?? '0')) {
      return nothing({ ...emptyOutcome(0), rewindTo: nextOffset ?? '0' });
    }
    const fresh = nextOffset === null ? records : records.filter(({ record }) => BigInt(record.offset) >= BigInt(nextOffset));
    const outcome = emptyOutcome(records.length - fresh.length);
    if (fresh.length === 0) return nothing(outcome);

    const events: ImEvent[] = [];
    const deadLetters: DeadLetter[] = [];
    for (const { record, result } of fresh) {
      if (result.ok) events.push(result.event);
      else deadLetters.push({ record, reason: result.reason });
    }

    // A partition's first batch (it had no row) always reloads under the lock, but only once ever: not counted.
    const firstBatch = early !== null && early.nextOffset === null;
    const reload = firstBatch || !stillValid(early, locked);
    outcome.loadedUnderClock = reload && !firstBatch;
    const { state } = early !== null && !reload ? early : await this.projections.loadState(client, batch.needs, position, this.settings());
    const floor = locked.lastVersion > locked.closedVersion ? locked.lastVersion : locked.closedVersion;
    const versions = allocateVersions([floor, locked.nowNs, this.written.get(partition) ?? 0n], events.length);
    events.forEach((event, i) => {
      evolve(state, event, versions[i]);
      outcome.eventsByType[event.type] = (outcome.eventsByType[event.type] ?? 0) + 1;
    });
    const highestVersion = versions.length > 0 ? versions[versions.length - 1] : floor;
    this.written.set(partition, highestVersion);

    const checkpoint = { ...position, nextOffset: (BigInt(fresh[fresh.length - 1].record.offset) + 1n).toString() };
    // All three before the commit, side by side. Redis needs no order between partitions: every
    // record written here is above the partition's closed version until this commit closes it.
    const changes = encodeChanges(state, highestVersion);
    const [, deadLettersSent, redis] = await Promise.all([
      this.projections.saveBatch(client, changes, checkpoint, highestVersion, batch.crossesPartitions, spansPartitions),
      deadLetters.length > 0 ? this.sendDeadLetters(topic, partition, deadLetters) : 0,
      this.cache.writeBatch(changes, highestVersion),
    ]);

    // Once this commits, the closer may publish W past the batch before its rebuild (in applyOnce) starts:
    // readers must already have stopped taking Redis for whole.
    const redisMissesWrites = !redis.complete || redis.refused > 0;
    if (redisMissesWrites) await this.cache.markIncomplete();
    await this.hooks.beforeCommit?.(partition);

    outcome.applied = events.length;
    outcome.deadLetters = deadLettersSent;
    outcome.redisWritesRefused = redis.refused;
    return { outcome, closed: spansPartitions ? 'all' : highestVersion, rebuildRedis: redisMissesWrites };
  }

  /**
   * Rebuilds Redis from PostgreSQL if it lost its data, even when no events
   * arrive; under the exclusive partitions lock, so no batch interleaves.
   * Returns whether it rebuilt.
   */
  async repairCacheIfIncomplete(topic: string): Promise<boolean> {
    if (await this.cache.isComplete()) return false;
    return rebuildRedisFromPostgres(this.pool, this.projections, this.cache, this.groupId, topic, true, this.smallGroupMaxMembers);
  }

  private settings() {
    return { recentMessagesKept: this.recentMessagesKept, smallGroupMaxMembers: this.smallGroupMaxMembers };
  }
}

/**
 * Refills Redis from PostgreSQL as one snapshot sees it, with no batch in
 * flight (the exclusive partitions lock), and republishes the frontier from
 * the partitions' rows. `onlyIfIncomplete`: leaves a complete Redis alone.
 */
export async function rebuildRedisFromPostgres(
  pool: Pool,
  projections: ProjectionRepository,
  cache: ProjectionCache,
  groupId: string,
  topic: string,
  onlyIfIncomplete: boolean,
  smallGroupMaxMembers = DEFAULT_SMALL_GROUP_MAX_MEMBERS,
): Promise<boolean> {
  // READ COMMITTED, each statement after the lock: no batch commits while it is held.
  return inTransaction(
    pool,
    async (client) => {
      await projections.lockAllPartitions(client, null);
      if (onlyIfIncomplete && (await cache.isComplete())) return false;
      const { closed, highest } = await projections.partitionVersions(client, groupId, topic);
      await cache.rebuild(projections.allRecords(client, smallGroupMaxMembers), highest, { closed, partitionCount: partitionCountOf(closed) });
      return true;
    },
  );
}

/** The partition count a frontier is complete at: every registered partition (they are numbered from 0). */
function partitionCountOf(rows: readonly ClosedPartition[]): number {
  return rows.reduce((count, { partition }) => Math.max(count, partition + 1), 0);
}

function emptyOutcome(skipped: number): BatchOutcome {
  return { applied: 0, skipped, deadLetters: 0, eventsByType: {}, loadedUnderClock: false, redisWritesRefused: 0 };
}

/** Pure work, done before the partition is locked. */
function decodeBatch(records: IncomingRecord[], rejectAs: string | null): DecodedBatch {
  const decoded = records.map((record) => ({ record, result: rejectAs === null ? decodeRecord(record.value) : ({ ok: false, reason: rejectAs } as const) }));
  const events = decoded.flatMap(({ result }) => (result.ok ? [result.event] : []));
  return {
    decoded,
    needs: mergeNeeds(events.map(recordsNeededBy)),
    crossesPartitions: decoded.some(({ record, result }) => result.ok && record.key?.toString('utf8') !== channelKeyOfEvent(result.event)),
  };
}

function stillValid(early: LoadGuard | null, now: LoadGuard): boolean {
  return early !== null && early.nextOffset === now.nextOffset && early.epoch === now.epoch;
}

/** PostgreSQL data exceptions (class 22) and program limits (class 54): retrying cannot help. */
function isRejectedByStorage(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('54'));
}

function mergeNeeds(needs: RecordsNeeded[]): RecordsNeeded {
  return {
    channelKeys: needs.flatMap((n) => n.channelKeys),
    conversations: needs.flatMap((n) => n.conversations),
    messages: needs.flatMap((n) => n.messages),
    windows: needs.flatMap((n) => n.windows),
    members: needs.flatMap((n) => n.members),
  };
}
