import { parseExactJson } from '@cs/json';
import { ImEvent } from '../events';
import { ProjectionState, evolve, keptNewMessages, wholeProjectionState } from '../projection/evolve';
import { lanesReadBy } from '../projection/retention';
import { indexEntryOf } from '../projection/fan-out';
import { ConversationRecord } from '../projection/records';
import { pickRecents, renderSyncAnswer } from '../view/sync-answer';
import { PlannedEntry, SyncSnapshot, planRead, planSync } from '../view/sync-plan';
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

/** `recentMessagesKept`, `smallGroupMaxMembers`: the settings RECENT_MESSAGES_KEPT, SMALL_GROUP_MAX_MEMBERS. */
export function given(events: readonly GivenEvent[], recentMessagesKept?: number, smallGroupMaxMembers?: number): World {
  const state = wholeProjectionState(recentMessagesKept, smallGroupMaxMembers);
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

/**
 * The answer as the apps build it: the store reads what planRead names from
 * the per-user indexes (here built in memory with indexEntryOf), planSync
 * makes the entries. It must equal the answer from every conversation read
 * whole: each table row of the domain tests checks the indexes too.
 */
function answerText(state: ProjectionState, query: SyncQuery, frontier: bigint | null): string {
  const fromIndex = render(state, planSync(indexedSnapshot(state, query), query), query, frontier);
  const fromEverything = render(state, planSync(snapshotOf(state, conversationsOf(state, query.uid)), query), query, frontier);
  if (fromIndex !== fromEverything) throw new Error(`the indexed read answers\n${fromIndex}\nbut the whole read\n${fromEverything}`);
  return fromIndex;
}

function render(state: ProjectionState, planned: PlannedEntry[], query: SyncQuery, frontier: bigint | null): string {
  return renderSyncAnswer(
    planned.map(({ entry, recents }) => {
      const { conversation } = entry.view;
      const lanes = lanesReadBy(conversation);
      const candidates = keptNewMessages(state)
        .filter((message) => message.channelKey === conversation.channelKey && lanes.includes(message.lane))
        .sort((a, b) => b.seq - a.seq);
      return { entry, recents: recents === null ? [] : pickRecents(entry, candidates, query.msgCount) };
    }),
    frontier,
  );
}

function conversationsOf(state: ProjectionState, uid: string): ConversationRecord[] {
  return [...state.conversations.values()].filter((conversation) => conversation.uid === uid);
}

function snapshotOf(state: ProjectionState, conversations: ConversationRecord[], ranked?: SyncSnapshot['ranked']): SyncSnapshot {
  return { conversations, channels: state.channels, ranked };
}

/** What a store holding the per-user indexes reads for planRead(query). */
function indexedSnapshot(state: ProjectionState, query: SyncQuery): SyncSnapshot {
  const entries = conversationsOf(state, query.uid).map((conversation) => ({
    conversation,
    index: indexEntryOf(conversation, state.channels.get(conversation.channelKey), state.smallGroupMaxMembers),
  }));
  const large = entries.filter(({ index }) => index.kind === 'large').map(({ conversation }) => conversation);
  const plan = planRead(query);
  switch (plan.read) {
    case 'everything':
      return snapshotOf(state, conversationsOf(state, query.uid));
    case 'changed': {
      const changed = entries.filter(({ index }) => index.kind === 'indexed' && index.version > plan.afterVersion);
      return snapshotOf(state, [...changed.map(({ conversation }) => conversation), ...large]);
    }
    case 'ranked': {
      const listed = entries.flatMap(({ conversation, index }) =>
        index.kind === 'indexed' && index.timestamp !== null ? [{ conversation, timestamp: index.timestamp, version: index.version }] : [],
      );
      listed.sort((a, b) => b.timestamp - a.timestamp || (b.version > a.version ? 1 : b.version < a.version ? -1 : 0));
      const firstRank = Math.max(0, plan.from - large.length);
      const read = listed.slice(firstRank, plan.from + plan.count).map(({ conversation }) => conversation);
      return snapshotOf(state, [...read, ...large], { firstRank, keys: read.map((c) => c.channelKey) });
    }
    default: {
      const exhaustive: never = plan;
      return exhaustive;
    }
  }
}
