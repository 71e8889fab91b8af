import { MessageRecord } from '../projection/records';
import { reportedVersion } from '../version-step';
import { ConversationView, isVisibleTo } from './conversation-view';
import { renderMessage } from './render';
import { SyncQuery, lastMsgSeqKey } from './sync-request';

/** One entry of the answer before its recents are fetched. */
export interface SelectedConversation {
  view: ConversationView;
  /** Reported as `deleted: 1`. */
  tombstone: boolean;
  /** Recents hold only visible messages with a higher seq. */
  recentsAfterSeq: number;
}

/** Applies the request's filters, ordering and paging to the user's conversations. */
export function selectConversations(views: readonly ConversationView[], query: SyncQuery): SelectedConversation[] {
  const selected: SelectedConversation[] = [];
  for (const view of views) {
    const entry = selectOne(view, query);
    if (entry) selected.push(entry);
  }
  selected.sort(byTimestampThenVersionDescending);
  if (query.page === 0) return selected;
  const start = (query.page - 1) * query.pageSize;
  return selected.slice(start, start + query.pageSize);
}

/**
 * With `version` > 0 a conversation changed after it comes back even when the
 * client already has its latest message: the change may be a read or an
 * unread count the client (which lists every conversation it holds) must learn.
 */
export function selectOne(view: ConversationView, query: SyncQuery): SelectedConversation | null {
  const { channelId, channelType } = view.conversation;
  const incremental = query.version > 0n;
  if (incremental && view.version <= query.version) return null;
  const clientSeq = query.lastMsgSeqs.get(lastMsgSeqKey(channelId, channelType));
  if (query.excludeChannelTypes.has(channelType) && clientSeq === undefined) return null;
  if (view.head === null) {
    const tombstone = view.cleared && incremental && query.includeDeleted && !query.onlyUnread;
    return tombstone ? { view, tombstone, recentsAfterSeq: 0 } : null;
  }
  if (!incremental && clientSeq !== undefined && clientSeq >= view.lastMsgSeq) return null;
  if (query.onlyUnread && view.unread === 0) return null;
  return { view, tombstone: false, recentsAfterSeq: Math.max(view.conversation.floor, clientSeq ?? 0) };
}

export function byTimestampThenVersionDescending(a: SelectedConversation, b: SelectedConversation): number {
  const timestampOrder = (b.view.head?.timestamp ?? -1) - (a.view.head?.timestamp ?? -1);
  if (timestampOrder !== 0) return timestampOrder;
  return b.view.version > a.view.version ? 1 : b.view.version < a.view.version ? -1 : 0;
}

/** The newest `count` visible messages above `afterSeq`, from candidates sorted by seq descending. */
export function pickRecents(
  entry: SelectedConversation,
  candidatesNewestFirst: readonly MessageRecord[],
  count: number,
): MessageRecord[] {
  const picked: MessageRecord[] = [];
  for (const message of candidatesNewestFirst) {
    if (picked.length >= count) break;
    if (message.seq > entry.recentsAfterSeq && isVisibleTo(entry.view.conversation, message)) picked.push(message);
  }
  return picked;
}

/**
 * The JSON answer: versions and message ids as bare integers. With a
 * `frontier` (W), each version is reported as min(version, W): see
 * reportedVersion. null: versions as they are (every record is whole).
 */
export function renderSyncAnswer(entries: readonly { entry: SelectedConversation; recents: readonly MessageRecord[] }[], frontier: bigint | null = null): string {
  return `[${entries.map(({ entry, recents }) => renderConversation(entry, recents, frontier)).join(',')}]`;
}

/** How many entries an answer reports with a version clamped to the frontier. */
export function clampedEntries(entries: readonly { entry: SelectedConversation }[], frontier: bigint | null): number {
  return frontier === null ? 0 : entries.filter(({ entry }) => entry.view.version > frontier).length;
}

function renderConversation(entry: SelectedConversation, recents: readonly MessageRecord[], frontier: bigint | null): string {
  const { view } = entry;
  const { channelId, channelType } = view.conversation;
  const id = JSON.stringify(channelId);
  const version = frontier === null ? view.version : reportedVersion(view.version, frontier);
  if (entry.tombstone) return `{"channel_id":${id},"channel_type":${channelType},"version":${version},"deleted":1}`;
  const head = view.head!;
  return (
    `{"channel_id":${id},"channel_type":${channelType},"unread":${view.unread},"timestamp":${head.timestamp},` +
    `"last_msg_seq":${view.lastMsgSeq},"last_client_msg_no":${JSON.stringify(head.clientMsgNo)},"offset_msg_seq":0,` +
    `"readed_to_msg_seq":${view.readedToMsgSeq},"version":${version},` +
    `"recents":[${recents.map((message) => renderMessage(channelId, message.body)).join(',')}]}`
  );
}
