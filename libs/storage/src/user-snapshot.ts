import { MessageRecord, RecentsRequest, SyncReadPlan, SyncSnapshot } from '@cs/domain';

export type { RecentsRequest } from '@cs/domain';

/** What a store read for a plan, consistently, and the version it is whole up to. */
export interface StoreSnapshot extends SyncSnapshot {
  /** Recents take no message applied after it. */
  bound: bigint;
}

/** A store the sync endpoints read from. */
export interface SyncReadStore {
  /** What `plan` names for the user, read consistently; null when this store cannot answer consistently right now. */
  readSnapshot(uid: string, plan: SyncReadPlan): Promise<StoreSnapshot | null>;
  /** The recents of each entry, keyed as asked: visible messages in the order asked, at most `count`. */
  readRecents(requests: ReadonlyMap<string, RecentsRequest>, bound: bigint): Promise<Map<string, MessageRecord[]>>;
}
