import { MessageRecord, RecentsRequest, SyncReadPlan, SyncSnapshot } from '@cs/domain';

export type { RecentsRequest } from '@cs/domain';

/** What a store read for a plan, consistently, with the frontier its answer is clamped to. */
export interface StoreSnapshot extends SyncSnapshot {
  /**
   * W, read before the records: every change not yet whole in this store has a
   * version above it, so answers report versions as min(version, W). null: no
   * bound (every record is whole).
   */
  frontier: bigint | null;
}

/** A store the sync endpoints read from. */
export interface SyncReadStore {
  /** What `plan` names for the user, read consistently; null when this store cannot answer consistently right now. */
  readSnapshot(uid: string, plan: SyncReadPlan): Promise<StoreSnapshot | null>;
  /** The recents of each entry, keyed as asked: visible messages in the order asked, at most `count`. */
  readRecents(requests: ReadonlyMap<string, RecentsRequest>): Promise<Map<string, MessageRecord[]>>;
}
