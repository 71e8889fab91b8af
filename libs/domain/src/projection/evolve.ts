import { channelKeyOfEvent, conversationKeyOf } from '../channel-keys';
import {
  ConversationDeletedEvent,
  ConversationReadEvent,
  ConversationUnreadSetEvent,
  ImEvent,
  MessageEvent,
  PERSON_CHANNEL,
  SubscribersChangedEvent,
} from '../events';
import { deliveredSeq, visibleHead } from '../view/conversation-view';
import { clientMsgNoOf, renderMessageBody } from '../view/render';
import { DEFAULT_SMALL_GROUP_MAX_MEMBERS, isLargeGroup } from './fan-out';
import { DEFAULT_RECENT_MESSAGES_KEPT, MessageWindow, fitsWindow, isKeptIn, keepInWindow, lanesOf, newWindow, windowKeyOf } from './retention';
import {
  ChannelRecord,
  ConversationRecord,
  MessageHead,
  MessageRecord,
  higherHead,
  newChannel,
  newConversation,
} from './records';

/**
 * The records one batch of events may read and write. Loaders fill it with the
 * records named by `recordsNeededBy`; `evolve` applies events to it in order
 * and marks what changed; writers persist what is marked.
 */
export interface ProjectionState {
  channels: Map<string, ChannelRecord>;
  conversations: Map<string, ConversationRecord>;
  /** `messageSlot(channelKey, seq)` of messages already stored. */
  storedMessages: Set<string>;
  /** By `windowKeyOf`: the message windows the batch's messages go to, and every channel window. */
  windows: Map<string, MessageWindow>;
  /** Message copies added, some perhaps let go of again in the same batch: see `keptNewMessages`. */
  newMessages: MessageRecord[];
  changedChannels: Set<string>;
  changedConversations: Set<string>;
  /**
   * Conversations whose index entry moved while their record did not (a small
   * group's message, a group crossing SMALL_GROUP_MAX_MEMBERS): stores rewrite
   * only the entry. See `movedEntriesOnly`.
   */
  movedEntries: Set<string>;
  changedWindows: Set<string>;
  /** Windows that let go of messages: stores delete their copies below the window's lowest kept seq. */
  trimmedWindows: Set<string>;
  /** RECENT_MESSAGES_KEPT: how many messages each window keeps. */
  recentMessagesKept: number;
  /** Every current member of each channel whose members were loaded (small groups the batch fans out to). */
  channelMembers: Map<string, Set<string>>;
  /** SMALL_GROUP_MAX_MEMBERS: see fan-out.ts. */
  smallGroupMaxMembers: number;
  /** Holds every record (a model in memory, not a batch's working set): members are found among its conversations. */
  holdsEverything: boolean;
}

/** A state that holds every record, for models and tests that apply all events to one state. */
export function wholeProjectionState(recentMessagesKept?: number, smallGroupMaxMembers?: number): ProjectionState {
  return { ...emptyProjectionState(recentMessagesKept, smallGroupMaxMembers), holdsEverything: true };
}

export function emptyProjectionState(
  recentMessagesKept = DEFAULT_RECENT_MESSAGES_KEPT,
  smallGroupMaxMembers = DEFAULT_SMALL_GROUP_MAX_MEMBERS,
): ProjectionState {
  return {
    channelMembers: new Map(),
    smallGroupMaxMembers,
    holdsEverything: false,
    channels: new Map(),
    conversations: new Map(),
    storedMessages: new Set(),
    windows: new Map(),
    newMessages: [],
    changedChannels: new Set(),
    changedConversations: new Set(),
    movedEntries: new Set(),
    changedWindows: new Set(),
    trimmedWindows: new Set(),
    recentMessagesKept,
  };
}

/** Conversations whose entry moved but whose record did not change: a store writes their entry alone. */
export function movedEntriesOnly(state: ProjectionState): string[] {
  const moved: string[] = [];
  for (const key of state.movedEntries) if (!state.changedConversations.has(key)) moved.push(key);
  return moved;
}

/** The message copies of this batch still in their windows: the ones to store. */
export function keptNewMessages(state: ProjectionState): MessageRecord[] {
  return state.newMessages.filter((message) => isKeptIn(state.windows.get(windowKeyOf(message.channelKey, message.lane)), message));
}

export function messageSlot(channelKey: string, seq: number): string {
  return `${seq} ${channelKey}`;
}

export interface RecordsNeeded {
  channelKeys: string[];
  conversations: { uid: string; channelKey: string }[];
  messages: { channelKey: string; seq: number }[];
  windows: { channelKey: string; lane: string | null }[];
  /**
   * Channels whose members (and their records) the batch may fan out to:
   * loaders load them when the channel has at most SMALL_GROUP_MAX_MEMBERS
   * + `slack` members (`slack`: members the event removes, so a group
   * shrinking across the line has its members at hand).
   */
  members: { channelKey: string; slack: number }[];
}

/** What a loader must fetch before `evolve` can apply the event. */
export function recordsNeededBy(event: ImEvent): RecordsNeeded {
  switch (event.type) {
    case 'message': {
      const channelKey = channelKeyOfEvent(event);
      const recipients = recipientsOf(event);
      const uids = [event.from_uid, ...(recipients ?? [])];
      const lanes = new Set([null, ...lanesOf(event.channel_type, recipients)]);
      return {
        channelKeys: event.channel_type === PERSON_CHANNEL ? [] : [channelKey],
        conversations: uids.map((uid) => ({ uid, channelKey })),
        messages: [{ channelKey, seq: event.message_seq }],
        windows: [...lanes].map((lane) => ({ channelKey, lane })),
        members: event.channel_type === PERSON_CHANNEL || recipients !== null ? [] : [{ channelKey, slack: 0 }],
      };
    }
    case 'subscribers_added':
    case 'subscribers_removed': {
      const channelKey = channelKeyOfEvent(event);
      return {
        channelKeys: [channelKey],
        conversations: event.subscribers.map((uid) => ({ uid, channelKey })),
        messages: [],
        windows: [],
        members: [{ channelKey, slack: event.type === 'subscribers_removed' ? event.subscribers.length : 0 }],
      };
    }
    case 'conversation_read':
    case 'conversation_unread_set':
    case 'conversation_deleted': {
      const channelKey = channelKeyOfEvent(event);
      return {
        channelKeys: event.channel_type === PERSON_CHANNEL ? [] : [channelKey],
        conversations: [{ uid: event.uid, channelKey }],
        messages: [],
        windows: [],
        members: [],
      };
    }
    default: {
      const exhaustive: never = event;
      return exhaustive;
    }
  }
}

/** Applies one event at `version` (unique per event, increasing in apply order). */
export function evolve(state: ProjectionState, event: ImEvent, version: bigint): void {
  switch (event.type) {
    case 'message':
      return applyMessage(state, event, version);
    case 'subscribers_added':
      return applySubscribersAdded(state, event, version);
    case 'subscribers_removed':
      return applySubscribersRemoved(state, event, version);
    case 'conversation_read':
      return applyRead(state, event, version);
    case 'conversation_unread_set':
      return applyUnreadSet(state, event, version);
    case 'conversation_deleted':
      return applyDeleted(state, event, version);
    default: {
      const exhaustive: never = event;
      return exhaustive;
    }
  }
}

/** Explicit recipients, or null when the channel's members receive it. */
function recipientsOf(event: MessageEvent): string[] | null {
  if (event.channel_type === PERSON_CHANNEL) return [...new Set([event.from_uid, event.channel_id])];
  return event.subscribers;
}

function applyMessage(state: ProjectionState, event: MessageEvent, version: bigint): void {
  if (event.header.no_persist === 1 || event.header.sync_once === 1) return;
  const channelKey = channelKeyOfEvent(event);
  const slot = messageSlot(channelKey, event.message_seq);
  if (state.storedMessages.has(slot)) return;
  const recipients = recipientsOf(event);
  const lanes = lanesKeeping(state, channelKey, event, recipients);
  if (lanes.length === 0) return letGoOf(state, channelKey, event.message_seq);
  state.storedMessages.add(slot);

  const clientMsgNo = clientMsgNoOf(event);
  const head: MessageHead = { seq: event.message_seq, timestamp: event.timestamp, clientMsgNo };
  const body = renderMessageBody(event);
  for (const lane of lanes) {
    const message: MessageRecord = {
      channelKey,
      seq: event.message_seq,
      messageId: event.message_id,
      fromUid: event.from_uid,
      timestamp: event.timestamp,
      clientMsgNo,
      version,
      recipients: lane === null ? recipients : [lane],
      lane,
      body,
    };
    state.newMessages.push(message);
    keepMessage(state, message);
  }

  // A person channel needs no channel record: both people see it through their own records.
  if (event.channel_type !== PERSON_CHANNEL) {
    const channel = getChannel(state, channelKey, event.channel_type);
    putChannel(state, {
      ...channel,
      latestSeq: Math.max(channel.latestSeq, head.seq),
      ...(recipients === null ? { broadcastHead: higherHead(channel.broadcastHead, head), broadcastVersion: version } : {}),
    });
    if (recipients === null) fanOut(state, channelKey);
  }

  for (const uid of recipients ?? []) {
    const conversation = getOrCreateConversation(state, uid, channelKey, event);
    putConversation(state, { ...conversation, directHead: higherHead(conversation.directHead, head), version });
  }
  // Own messages count as read only where they were delivered to the sender: a removed
  // member, or a sender outside the explicit recipients, keeps the conversation as it was.
  const sender = getConversation(state, event.from_uid, channelKey);
  const deliveredToSender = recipients === null ? sender?.membership === 'member' : recipients.includes(event.from_uid);
  if (sender && deliveredToSender) putConversation(state, { ...sender, ownSeq: Math.max(sender.ownSeq, head.seq), version });
}

/**
 * The windows that keep the message; none when it is older than the kept
 * window: at or below a seq the channel already let go of (a duplicate of a
 * trimmed message, or a late arrival), or older than the newest
 * RECENT_MESSAGES_KEPT of each window it would go to. Such a message is dropped
 * whole: it changes no record but the channel window's `droppedUpTo` (so a
 * later event with its seq is dropped too), so it is never visible and moves no head.
 */
function lanesKeeping(state: ProjectionState, channelKey: string, event: MessageEvent, recipients: string[] | null): (string | null)[] {
  if (event.message_seq <= getWindow(state, channelKey, null).droppedUpTo) return [];
  return lanesOf(event.channel_type, recipients).filter((lane) =>
    fitsWindow(getWindow(state, channelKey, lane), event.message_seq, state.recentMessagesKept),
  );
}

function keepMessage(state: ProjectionState, message: MessageRecord): void {
  const { window, dropped } = keepInWindow(getWindow(state, message.channelKey, message.lane), message.seq, state.recentMessagesKept);
  putWindow(state, window);
  if (dropped === 0) return;
  state.trimmedWindows.add(windowKeyOf(window.channelKey, window.lane));
  letGoOf(state, message.channelKey, dropped);
}

/** From now on an event of the channel at or below `seq` is dropped: its window had no room, or let go of it. */
function letGoOf(state: ProjectionState, channelKey: string, seq: number): void {
  const channelWindow = getWindow(state, channelKey, null);
  if (seq > channelWindow.droppedUpTo) putWindow(state, { ...channelWindow, droppedUpTo: seq });
}

function applySubscribersAdded(state: ProjectionState, event: SubscribersChangedEvent, version: bigint): void {
  const channelKey = channelKeyOfEvent(event);
  const channel = getChannel(state, channelKey, event.channel_type);
  let memberCount = channel.memberCount;
  for (const uid of event.subscribers) {
    const conversation =
      getConversation(state, uid, channelKey) ?? newConversation(uid, channelKey, event.channel_id, event.channel_type);
    if (conversation.membership === 'member') continue;
    memberCount++;
    state.channelMembers.get(channelKey)?.add(uid);
    const wasVisible = visibleHead(conversation, channel) !== null;
    putConversation(state, {
      ...conversation,
      membership: 'member',
      floor: Math.max(conversation.floor, channel.latestSeq),
      leftVersion: null,
      frozenHead: null,
      version,
      clearedVersion: wasVisible ? version : conversation.clearedVersion,
    });
  }
  countMembers(state, channel, memberCount);
}

function applySubscribersRemoved(state: ProjectionState, event: SubscribersChangedEvent, version: bigint): void {
  const channelKey = channelKeyOfEvent(event);
  const channel = getChannel(state, channelKey, event.channel_type);
  let memberCount = channel.memberCount;
  for (const uid of event.subscribers) {
    const conversation = getConversation(state, uid, channelKey);
    if (conversation?.membership !== 'member') continue;
    memberCount--;
    state.channelMembers.get(channelKey)?.delete(uid);
    // Nothing the user sees changes, yet the version moves: a reader that caught this batch
    // half-written may have joined the user's record from before it (a member) with the channel's
    // from after it (a later message shown as delivered), clamped to W; a version above W makes
    // that client read the conversation again, as it now is.
    putConversation(state, { ...conversation, membership: 'left', leftVersion: version, frozenHead: channel.broadcastHead, version });
  }
  countMembers(state, channel, memberCount);
}

/** A group crossing SMALL_GROUP_MAX_MEMBERS, either way, moves its members' entries (index <-> large groups). */
function countMembers(state: ProjectionState, channel: ChannelRecord, memberCount: number): void {
  if (memberCount === channel.memberCount) return;
  const updated = { ...channel, memberCount };
  putChannel(state, updated);
  if (isLargeGroup(channel, state.smallGroupMaxMembers) !== isLargeGroup(updated, state.smallGroupMaxMembers)) rewriteMemberEntries(state, channel.key);
}

/** A small group's member-delivered message changes every member's index entry. */
function fanOut(state: ProjectionState, channelKey: string): void {
  if (!isLargeGroup(state.channels.get(channelKey), state.smallGroupMaxMembers)) rewriteMemberEntries(state, channelKey);
}

/** Marks every member's index entry moved, so the stores rewrite it (see encodeChanges); their records stay. */
function rewriteMemberEntries(state: ProjectionState, channelKey: string): void {
  const members = state.holdsEverything ? membersAmongRecords(state, channelKey) : state.channelMembers.get(channelKey);
  if (members === undefined) throw new Error(`the members of ${channelKey} were not loaded (recordsNeededBy asks for them)`);
  for (const uid of members) {
    const key = conversationKeyOf(uid, channelKey);
    if (state.conversations.has(key)) state.movedEntries.add(key);
  }
}

function applyRead(state: ProjectionState, event: ConversationReadEvent, version: bigint): void {
  updateConversationOf(state, event, (conversation, channel) => {
    const delivered = deliveredSeq(conversation, channel);
    const target = event.read_to_seq === null ? delivered : Math.min(event.read_to_seq, delivered);
    if (target <= conversation.readSeq) return conversation;
    return { ...conversation, readSeq: target, version };
  });
}

function applyUnreadSet(state: ProjectionState, event: ConversationUnreadSetEvent, version: bigint): void {
  updateConversationOf(state, event, (conversation, channel) => {
    const lastMsgSeq = visibleHead(conversation, channel)?.seq ?? 0;
    return { ...conversation, readSeq: Math.max(conversation.floor, lastMsgSeq - event.unread), version };
  });
}

function applyDeleted(state: ProjectionState, event: ConversationDeletedEvent, version: bigint): void {
  updateConversationOf(state, event, (conversation, channel) => {
    if (visibleHead(conversation, channel) === null) return conversation;
    return {
      ...conversation,
      floor: Math.max(conversation.floor, deliveredSeq(conversation, channel)),
      version,
      clearedVersion: version,
    };
  });
}

type ConversationEvent = ConversationReadEvent | ConversationUnreadSetEvent | ConversationDeletedEvent;

/** Conversation commands on a conversation the user never had change nothing. */
function updateConversationOf(
  state: ProjectionState,
  event: ConversationEvent,
  update: (conversation: ConversationRecord, channel: ChannelRecord) => ConversationRecord,
): void {
  const channelKey = channelKeyOfEvent(event);
  const conversation = getConversation(state, event.uid, channelKey);
  if (!conversation) return;
  const updated = update(conversation, getChannel(state, channelKey, event.channel_type));
  if (updated !== conversation) putConversation(state, updated);
}

function membersAmongRecords(state: ProjectionState, channelKey: string): Set<string> {
  const members = new Set<string>();
  for (const c of state.conversations.values()) if (c.channelKey === channelKey && c.membership === 'member') members.add(c.uid);
  return members;
}

// --- working-set access ---

function getChannel(state: ProjectionState, key: string, channelType: number): ChannelRecord {
  return state.channels.get(key) ?? newChannel(key, channelType);
}

function putChannel(state: ProjectionState, channel: ChannelRecord): void {
  state.channels.set(channel.key, channel);
  state.changedChannels.add(channel.key);
}

function getWindow(state: ProjectionState, channelKey: string, lane: string | null): MessageWindow {
  return state.windows.get(windowKeyOf(channelKey, lane)) ?? newWindow(channelKey, lane);
}

function putWindow(state: ProjectionState, window: MessageWindow): void {
  const key = windowKeyOf(window.channelKey, window.lane);
  state.windows.set(key, window);
  state.changedWindows.add(key);
}

function getConversation(state: ProjectionState, uid: string, channelKey: string): ConversationRecord | undefined {
  return state.conversations.get(conversationKeyOf(uid, channelKey));
}

function getOrCreateConversation(state: ProjectionState, uid: string, channelKey: string, event: MessageEvent): ConversationRecord {
  const channelId = event.channel_type !== PERSON_CHANNEL ? event.channel_id : uid === event.from_uid ? event.channel_id : event.from_uid;
  return getConversation(state, uid, channelKey) ?? newConversation(uid, channelKey, channelId, event.channel_type);
}

function putConversation(state: ProjectionState, conversation: ConversationRecord): void {
  const key = conversationKeyOf(conversation.uid, conversation.channelKey);
  state.conversations.set(key, conversation);
  state.changedConversations.add(key);
}
