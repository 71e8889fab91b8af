import { ChannelRecord, ConversationRecord } from '../projection/records';
import { viewConversation } from './conversation-view';
import { SelectedConversation, byTimestampThenVersionDescending, selectConversations, selectOne } from './sync-answer';
import { SyncQuery } from './sync-request';

/**
 * What a store reads for a sync (see fan-out.ts for the per-user indexes):
 * - `changed`: the conversations whose index version is above `afterVersion`,
 *   and the user's large groups: O(changed + large groups);
 * - `ranked`: the index by (timestamp, version) from rank `from` − (number of
 *   large groups), at most 0, up to rank `from + count`, and the large groups:
 *   O(page + large groups + log) in Redis;
 * - `everything`: every conversation of the user (an unpaged full sync, or a
 *   paged one with a filter the index does not order by).
 */
export type SyncReadPlan =
  | { read: 'changed'; afterVersion: bigint }
  | { read: 'ranked'; from: number; count: number }
  | { read: 'everything' };

export function planRead(query: SyncQuery): SyncReadPlan {
  if (query.version > 0n) return { read: 'changed', afterVersion: query.version };
  const filtered = query.onlyUnread || query.excludeChannelTypes.size > 0 || query.lastMsgSeqs.size > 0;
  if (query.page === 0 || filtered) return { read: 'everything' };
  return { read: 'ranked', from: (query.page - 1) * query.pageSize, count: query.pageSize };
}

/** What a store read for a plan, consistently. */
export interface SyncSnapshot {
  /** The conversations read: what the plan names (for `ranked`, the ranked ones and the large groups). */
  conversations: readonly ConversationRecord[];
  /** The channel records of the groups among them. */
  channels: ReadonlyMap<string, ChannelRecord>;
  /** A ranked read: the channel keys read from the index, in its order, the first at rank `firstRank`. */
  ranked?: { firstRank: number; keys: readonly string[] };
}

/** The recent messages one entry needs: visible ones in (afterSeq, uptoSeq], at most `count`. */
export interface RecentsRequest {
  conversation: ConversationRecord;
  afterSeq: number;
  uptoSeq: number;
  count: number;
  /** The oldest `count` above afterSeq, oldest first (default: the newest, newest first). */
  oldestFirst?: boolean;
}

/** One answer entry and the recents to read for it (null: none). Entries are keyed by channel key. */
export interface PlannedEntry {
  entry: SelectedConversation;
  recents: RecentsRequest | null;
}

/** The answer's entries, in order, from what the store read for `planRead(query)`. */
export function planSync(snapshot: SyncSnapshot, query: SyncQuery): PlannedEntry[] {
  const views = snapshot.conversations.map((c) => viewConversation(c, snapshot.channels.get(c.channelKey)));
  const selected = snapshot.ranked === undefined ? selectConversations(views, query) : selectRanked(views, snapshot.ranked, query);
  return selected.map((entry) => ({ entry, recents: entry.tombstone || query.msgCount === 0 ? null : recentsOf(entry, query.msgCount) }));
}

/** The newest `count` visible messages of an entry, above its recentsAfterSeq. */
export function recentsOf(entry: SelectedConversation, count: number): RecentsRequest {
  return { conversation: entry.view.conversation, afterSeq: entry.recentsAfterSeq, uptoSeq: entry.view.lastMsgSeq, count };
}

/**
 * A page from a ranked read. The index holds every listed conversation but
 * the large groups, so a conversation's rank in the answer is its index rank
 * plus the large groups before it. The read starts L ranks early (L = large
 * groups), so a large group before the first conversation read is before the
 * page: its rank is at most firstRank + L − 1 < from.
 */
function selectRanked(
  views: ReturnType<typeof viewConversation>[],
  ranked: NonNullable<SyncSnapshot['ranked']>,
  query: SyncQuery,
): SelectedConversation[] {
  const byKey = new Map(views.map((view) => [view.conversation.channelKey, view]));
  const rankedKeys = new Set(ranked.keys);
  const indexed = ranked.keys.flatMap((key) => selectedOf(byKey.get(key), query));
  const large = views.filter((view) => !rankedKeys.has(view.conversation.channelKey)).flatMap((view) => selectedOf(view, query));
  large.sort(byTimestampThenVersionDescending);
  const from = (query.page - 1) * query.pageSize;
  const page: SelectedConversation[] = [];
  let i = 0;
  let l = 0;
  const take = (entry: SelectedConversation) => {
    const rank = ranked.firstRank + i + l;
    if (rank >= from && rank < from + query.pageSize) page.push(entry);
  };
  while (i < indexed.length || l < large.length) {
    const largeFirst = i === indexed.length || (l < large.length && byTimestampThenVersionDescending(large[l], indexed[i]) < 0);
    if (!largeFirst) {
      take(indexed[i]);
      i++;
    } else {
      // Before the first conversation read, and the read started late: before the page.
      if (!(i === 0 && ranked.firstRank > 0)) take(large[l]);
      l++;
    }
  }
  return page;
}

function selectedOf(view: ReturnType<typeof viewConversation> | undefined, query: SyncQuery): SelectedConversation[] {
  const entry = view === undefined ? null : selectOne(view, query);
  return entry === null ? [] : [entry];
}
