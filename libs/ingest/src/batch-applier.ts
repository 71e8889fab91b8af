import { DEFAULT_RECENT_MESSAGES_KEPT, DEFAULT_SMALL_GROUP_MAX_MEMBERS, ImEvent, RecordsNeeded, channelKeyOfEvent, evolve, recordsNeededBy } from '@cs/domain';
import { LoadGuard, PartitionPosition, ProjectionCache, ProjectionRepository, encodeChanges, inTransaction } from '@cs/storage';
import { Pool, PoolClient } from 'pg';
import { DecodedRecord, decodeRecord } from './event-decoder';
import { nextVersions } from './version-clock';

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
   * The batch's records were loaded under the version clock: the load made before it had gone
   * stale, or the batch holds an event not keyed by its channel (a producer breaking the contract).
   */
  loadedUnderClock: boolean;
}

interface DecodedBatch {
  decoded: { record: IncomingRecord; result: DecodedRecord }[];
  needs: RecordsNeeded;
  /** Some event is not keyed by its channel: it may change records another partition writes too. */
  crossesPartitions: boolean;
}

/**
 * Where every event goes. A batch is decoded and its records loaded first,
 * while other partitions' batches hold the version clock; then one PostgreSQL
 * transaction takes the clock, skips what the partition's checkpoint already
 * covers, applies the events with the domain's `evolve`, writes the records
 * and the new checkpoint, mirrors the records into Redis, and commits. Dead
 * letters are handed to `sendDeadLetters` before the commit.
 *
 * Loading before the clock is safe because a channel's records are written
 * only by the batches of the partition its events are keyed to, one batch at a
 * time: the load is redone under the clock when the partition's checkpoint
 * moved meanwhile (another instance applied it) or the cross-partition epoch
 * did (an event keyed by another channel, a truncation), and a batch with such
 * an event loads under the clock and raises the epoch.
 */
export class BatchApplier {
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
      for (const [type, count] of Object.entries(outcome.eventsByType)) {
        total.eventsByType[type as ImEvent['type']] = (total.eventsByType[type as ImEvent['type']] ?? 0) + count;
      }
    }
    return total;
  }

  /** Loads, then one transaction; with `rejectAs`, every record is a dead letter for that reason. */
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
    return inTransaction(this.pool, (client) => this.applyInTransaction(client, position, batch, early, allowRewind));
  }

  private async applyInTransaction(
    client: PoolClient,
    position: PartitionPosition,
    batch: DecodedBatch,
    early: Awaited<ReturnType<ProjectionRepository['loadState']>> | null,
    allowRewind: boolean,
  ): Promise<BatchOutcome> {
    const { topic, partition } = position;
    const { lastVersion, ...guard } = await this.projections.lockClockAndReadCheckpoint(client, position);
    const { nextOffset } = guard;
    const records = batch.decoded;
    if (allowRewind && BigInt(records[0].record.offset) > BigInt(nextOffset ?? '0')) {
      return { ...emptyOutcome(0), rewindTo: nextOffset ?? '0' };
    }
    const fresh = nextOffset === null ? records : records.filter(({ record }) => BigInt(record.offset) >= BigInt(nextOffset));
    const outcome = emptyOutcome(records.length - fresh.length);
    if (fresh.length === 0) return outcome;

    const events: ImEvent[] = [];
    const deadLetters: DeadLetter[] = [];
    for (const { record, result } of fresh) {
      if (result.ok) events.push(result.event);
      else deadLetters.push({ record, reason: result.reason });
    }

    outcome.loadedUnderClock = !stillValid(early, guard);
    const { state } = early !== null && !outcome.loadedUnderClock ? early : await this.projections.loadState(client, batch.needs, position, this.settings());
    const versions = nextVersions(lastVersion, events.length);
    events.forEach((event, i) => {
      evolve(state, event, versions[i]);
      outcome.eventsByType[event.type] = (outcome.eventsByType[event.type] ?? 0) + 1;
    });
    const highestVersion = versions.length > 0 ? versions[versions.length - 1] : lastVersion;

    const checkpoint = { ...position, nextOffset: (BigInt(fresh[fresh.length - 1].record.offset) + 1n).toString() };
    // All three before the commit, side by side. Redis is written while the clock is still
    // locked, so it sees batches in version order.
    const changes = encodeChanges(state);
    const [, deadLettersSent, redisWasComplete] = await Promise.all([
      this.projections.saveBatch(client, changes, checkpoint, highestVersion, batch.crossesPartitions),
      deadLetters.length > 0 ? this.sendDeadLetters(topic, partition, deadLetters) : 0,
      this.cache.writeBatch(changes, lastVersion, highestVersion),
    ]);
    if (!redisWasComplete) await this.rebuildCache(client, highestVersion);

    outcome.applied = events.length;
    outcome.deadLetters = deadLettersSent;
    return outcome;
  }

  /**
   * Rebuilds Redis from PostgreSQL if it lost its data, even when no events
   * arrive; under the version clock, so no batch interleaves. Returns whether it rebuilt.
   */
  async repairCacheIfIncomplete(): Promise<boolean> {
    if (await this.cache.isComplete()) return false;
    return inTransaction(this.pool, async (client) => {
      const version = await this.projections.lockVersionClock(client);
      const rebuilt = !(await this.cache.isComplete());
      if (rebuilt) await this.rebuildCache(client, version);
      return rebuilt;
    });
  }

  /** Redis lost its data (flush, restart): refill it from PostgreSQL as this transaction sees it. */
  private settings() {
    return { recentMessagesKept: this.recentMessagesKept, smallGroupMaxMembers: this.smallGroupMaxMembers };
  }

  private async rebuildCache(client: PoolClient, watermark: bigint): Promise<void> {
    await this.cache.rebuild(this.projections.allRecords(client), watermark);
  }
}

function emptyOutcome(skipped: number): BatchOutcome {
  return { applied: 0, skipped, deadLetters: 0, eventsByType: {}, loadedUnderClock: false };
}

/** Pure work, done before the version clock is taken. */
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
