import { Pool, PoolClient } from 'pg';

/** Reads the consumed position per (group, topic, partition); the batch applier writes it with the projection rows (ProjectionRepository.saveBatch). */
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

  /** Whether the record at `offset` has been applied. */
  async hasApplied(groupId: string, topic: string, partition: number, offset: string): Promise<boolean> {
    const next = await this.read(this.pool, groupId, topic, partition);
    return next !== null && BigInt(next) > BigInt(offset);
  }
}
