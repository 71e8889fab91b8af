import { Pool, PoolClient } from 'pg';
import { inTransaction } from './database';
import { ADVISORY_LOCKS } from './advisory-locks';
import { PARTITIONS_LOCK_KEY } from './projection.repository';

export interface ProjectionCounts {
  channels: number;
  conversations: number;
  messages: number;
  /** Checkpoints of the group asked about. */
  checkpoints: number;
}

/** SQL for operator commands on the projections (`cli rebuild`). */
export class MaintenanceRepository {
  constructor(private readonly pool: Pool) {}

  async projectionCounts(groupId: string): Promise<ProjectionCounts> {
    const { rows } = await this.pool.query<Record<keyof ProjectionCounts, string>>(
      `SELECT (SELECT count(*) FROM channels) AS channels,
              (SELECT count(*) FROM conversations) AS conversations,
              (SELECT count(*) FROM messages) AS messages,
              (SELECT count(*) FROM consumer_checkpoints WHERE group_id = $1) AS checkpoints`,
      [groupId],
    );
    const [row] = rows;
    return { channels: Number(row.channels), conversations: Number(row.conversations), messages: Number(row.messages), checkpoints: Number(row.checkpoints) };
  }

  /**
   * Empties the projections and the group's checkpoints, in one transaction
   * that first takes the partitions lock exclusively (so no batch is
   * half-applied across it); other groups' partitions reload what they loaded
   * early (their epoch moves). Versions stay time-based, so later ones are
   * above those handed out before.
   */
  async truncateProjections(groupId: string): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [PARTITIONS_LOCK_KEY]);
      await client.query('TRUNCATE channels, conversations, conversation_index, messages, message_windows');
      await client.query('DELETE FROM consumer_checkpoints WHERE group_id = $1', [groupId]);
      await client.query('UPDATE consumer_checkpoints SET cross_partition_epoch = cross_partition_epoch + 1');
    });
  }
}

const VACUUM_LOCK_KEY = ADVISORY_LOCKS.vacuum;

/**
 * What every batch leaves dead rows in: retention deletes a message row per
 * message added, and each index entry that moves (its indexed version and
 * timestamp) is a new row, never an update in place (HOT). Conversations are
 * updated in place (fillfactor 70), but a page too full for it takes a new row
 * too. Windows and channels are rewritten in place and need no vacuum.
 */
const CHURNED_TABLES = 'messages, conversation_index, conversations';

/** SQL for the consumer's periodic vacuum of what retention deletes. */
export class VacuumRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * A plain VACUUM (it blocks no reads or writes) of the churned tables,
   * unless another instance is running one; false when it did not run.
   */
  async vacuumChurnedTables(): Promise<boolean> {
    const client = await this.pool.connect();
    let failure: Error | undefined;
    try {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [VACUUM_LOCK_KEY]);
      if (!rows[0].locked) return false;
      try {
        // A vacuum takes as long as the tables need: the pool's statement timeout is for batches and reads.
        await client.query('SET statement_timeout = 0');
        await client.query(`VACUUM (SKIP_LOCKED) ${CHURNED_TABLES}`);
      } finally {
        await client.query('RESET statement_timeout');
        await client.query('SELECT pg_advisory_unlock($1)', [VACUUM_LOCK_KEY]);
      }
      return true;
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      // A connection that failed mid-way is closed rather than pooled (its session lock goes with it).
      client.release(failure);
    }
  }
}

/** Where a dead letter sits in the DLQ and where it came from (null when its headers do not say). */
export interface DeadLetterPosition {
  dlqPartition: number;
  dlqOffset: string;
  sourceTopic: string | null;
  sourcePartition: number | null;
  sourceOffset: string | null;
}

/** SQL for `cli dlq replay`: which dead letters were re-published already. */
export class DlqReplayRepository {
  constructor(private readonly pool: Pool) {}

  /** Positions already replayed from `dlqTopic` (`partition:offset`) and their sources (`topic/partition:offset`). */
  async replayed(dlqTopic: string): Promise<{ dlq: Set<string>; sources: Set<string> }> {
    const { rows } = await this.pool.query<{ dlq_partition: number; dlq_offset: string; source_topic: string | null; source_partition: number | null; source_offset: string | null }>(
      'SELECT dlq_partition, dlq_offset, source_topic, source_partition, source_offset FROM dlq_replays WHERE dlq_topic = $1',
      [dlqTopic],
    );
    const dlq = new Set(rows.map((r) => `${r.dlq_partition}:${r.dlq_offset}`));
    const sources = new Set(rows.filter((r) => r.source_topic !== null).map((r) => `${r.source_topic}/${r.source_partition}:${r.source_offset}`));
    return { dlq, sources };
  }

  /**
   * Records the letters as replayed, inside the caller's transaction, and
   * returns those that were not recorded yet (by DLQ or source position): only
   * those may be sent. A concurrent run waits on the rows until this one commits.
   */
  async claim(client: PoolClient, dlqTopic: string, targetTopic: string, letters: DeadLetterPosition[]): Promise<DeadLetterPosition[]> {
    if (letters.length === 0) return [];
    const { rows } = await client.query<{ dlq_partition: number; dlq_offset: string }>(
      `INSERT INTO dlq_replays (dlq_topic, dlq_partition, dlq_offset, source_topic, source_partition, source_offset, target_topic)
       SELECT $1, p, o, st, sp, so, $2 FROM unnest($3::int[], $4::bigint[], $5::text[], $6::int[], $7::bigint[]) AS l(p, o, st, sp, so)
       ON CONFLICT DO NOTHING
       RETURNING dlq_partition, dlq_offset`,
      [
        dlqTopic,
        targetTopic,
        letters.map((l) => l.dlqPartition),
        letters.map((l) => l.dlqOffset),
        letters.map((l) => l.sourceTopic),
        letters.map((l) => l.sourcePartition),
        letters.map((l) => l.sourceOffset),
      ],
    );
    const claimed = new Set(rows.map((r) => `${r.dlq_partition}:${r.dlq_offset}`));
    return letters.filter((l) => claimed.has(`${l.dlqPartition}:${l.dlqOffset}`));
  }
}
