import { ChannelRecord, ConversationRecord, MessageRecord } from '@cs/domain';

/** What a sync needs of one user, read consistently from one store. */
export interface UserSnapshot {
  conversations: ConversationRecord[];
  /** Channel records of the channels the user is a member of. */
  channels: Map<string, ChannelRecord>;
  /**
   * W, read before the records: every change not yet whole in this store has a
   * version above it, so answers report versions as min(version, W). null: no
   * bound (every record is whole).
   */
  frontier?: bigint | null;
}

export interface RecentsRequest {
  conversation: ConversationRecord;
  afterSeq: number;
  uptoSeq: number;
  count: number;
  /** The oldest `count` above afterSeq, oldest first (default: the newest, newest first). */
  oldestFirst?: boolean;
}

export interface SyncRead {
  snapshot: UserSnapshot;
  /** Per recents request: its visible messages in the order asked, at most `count`. */
  recents: MessageRecord[][];
}

/** A store the sync endpoint reads from. */
export interface SyncReadStore {
  /**
   * Reads one user consistently: the snapshot, then the recents `planRecents`
   * asks for. null when this store cannot answer consistently right now.
   */
  readSync(uid: string, planRecents: (snapshot: UserSnapshot) => RecentsRequest[]): Promise<SyncRead | null>;
}
