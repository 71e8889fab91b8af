import { parseExactJson } from '@cs/json';
import { ImEvent } from '../events';
import { ProjectionState, emptyProjectionState, evolve, keptNewMessages } from '../projection/evolve';
import { lanesReadBy } from '../projection/retention';
import { viewConversation } from '../view/conversation-view';
import { pickRecents, renderSyncAnswer, selectConversations } from '../view/sync-answer';
import { DEFAULT_PAGE_SIZE, SyncQuery } from '../view/sync-request';

/**
 * Given events, when a user syncs, then this answer: events in, answer out,
 * one table row per rule. The read path is assembled here the way the apps
 * do it, from one in-memory ProjectionState instead of storage.
 */

/** Nanosecond-sized, so every version in an answer is beyond 2^53 and must survive exactly. */
export const BASE_VERSION = 1_700_000_000_000_000_000n;

/** The version the helper gives the event at `index` of a `given` list. */
export function versionAt(index: number): bigint {
  return BASE_VERSION + BigInt(index) * 10n;
}

/** An event, or an event with the version it must be applied at. */
export type GivenEvent = ImEvent | { event: ImEvent; version: bigint };

export type SyncOptions = Partial<Omit<SyncQuery, 'uid'>>;

/** One entry of a parsed answer (int64 values beyond 2^53 are bigint). */
export type SyncedConversation = Record<string, unknown>;

export interface World {
  state: ProjectionState;
  /** The answer as JSON text, exactly as the endpoint would write it; `frontier`: the W it reads (null: every record whole). */
  syncText(uid: string, options?: SyncOptions, frontier?: bigint | null): string;
  sync(uid: string, options?: SyncOptions, frontier?: bigint | null): SyncedConversation[];
}

/** `recentMessagesKept`: the retention setting (RECENT_MESSAGES_KEPT). */
export function given(events: readonly GivenEvent[], recentMessagesKept?: number): World {
  const state = emptyProjectionState(recentMessagesKept);
  events.forEach((item, index) => {
    if ('event' in item) evolve(state, item.event, item.version);
    else evolve(state, item, versionAt(index));
  });
  const syncText = (uid: string, options: SyncOptions = {}, frontier: bigint | null = null) => answerText(state, syncQuery(uid, options), frontier);
  return { state, syncText, sync: (uid, options, frontier) => parseExactJson(syncText(uid, options, frontier)) as SyncedConversation[] };
}

/** A full sync with every message wanted, unless `options` say otherwise. */
export function syncQuery(uid: string, options: SyncOptions = {}): SyncQuery {
  return {
    uid,
    version: 0n,
    lastMsgSeqs: new Map(),
    msgCount: 50,
    onlyUnread: false,
    excludeChannelTypes: new Set(),
    page: 0,
    pageSize: DEFAULT_PAGE_SIZE,
    includeDeleted: false,
    ...options,
  };
}

function answerText(state: ProjectionState, query: SyncQuery, frontier: bigint | null): string {
  const views = [...state.conversations.values()]
    .filter((conversation) => conversation.uid === query.uid)
    .map((conversation) => viewConversation(conversation, state.channels.get(conversation.channelKey)));
  const entries = selectConversations(views, query).map((entry) => {
    const { conversation } = entry.view;
    const lanes = lanesReadBy(conversation);
    const candidates = keptNewMessages(state)
      .filter((message) => message.channelKey === conversation.channelKey && lanes.includes(message.lane))
      .sort((a, b) => b.seq - a.seq);
    return { entry, recents: entry.tombstone ? [] : pickRecents(entry, candidates, query.msgCount) };
  });
  return renderSyncAnswer(entries, frontier);
}
