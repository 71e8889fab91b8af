import { Pool, PoolClient } from 'pg';

/** The consumed position per (group, topic, partition), written in the same transaction as the projection rows. */
export class CheckpointRepository {
  constructor(private readonly pool: Pool) {}

  /** The next offset to apply (as a decimal string), or null when the partition was never applied. */
  async read(client: PoolClient | Pool, groupId: string, topic: string, partition: number): Promise<string | null> {
    const { rows } = await client.query<{ next_offset: string }>(
      'SELECT next_offset FROM consumer_checkpoints WHERE group_id = $1 AND topic = $2 AND partition = $3',
      [groupId, topic, partition],
    );
    return rows[0]?.next_offset ?? null;
  }

  async save(client: PoolClient, groupId: string, topic: string, partition: number, nextOffset: string): Promise<void> {
    await client.query(
      `INSERT INTO consumer_checkpoints (group_id, topic, partition, next_offset) VALUES ($1, $2, $3, $4)
       ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset`,
      [groupId, topic, partition, nextOffset],
    );
  }

  /** Whether the record at `offset` has been applied. */
  async hasApplied(groupId: string, topic: string, partition: number, offset: string): Promise<boolean> {
    const next = await this.read(this.pool, groupId, topic, partition);
    return next !== null && BigInt(next) > BigInt(offset);
  }
}
