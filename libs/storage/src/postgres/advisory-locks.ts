/**
 * Every PostgreSQL advisory lock key the service takes, in one place: two uses
 * sharing a key would wait on each other (a vacuum once held the partitions
 * lock exclusively, stopping every batch while it ran). Any fixed numbers,
 * the same in every instance.
 */
export const ADVISORY_LOCKS = {
  /** Session lock: one instance migrates at a time. */
  migrations: 727_001,
  /** Shared by every ordinary batch, exclusive for work that spans partitions. */
  partitions: 727_002,
  /** Try only: the one instance that closes idle partitions this tick. */
  closer: 727_003,
  /** Try only, session lock: the one instance vacuuming the churned tables. */
  vacuum: 727_004,
} as const;
