import {
  ChannelRecord,
  ConversationRecord,
  IndexEntry,
  MessageRecord,
  MessageWindow,
  ProjectionState,
  indexEntryOf,
  keptNewMessages,
  movedEntriesOnly,
} from '@cs/domain';
import { CHANNEL_FIELDS, CONVERSATION_FIELDS, MESSAGE_FIELDS, decodeFields, encodeFields } from './record-fields';

export { CHANNEL_FIELDS, CONVERSATION_FIELDS, MESSAGE_FIELDS, channelFieldPosition } from './record-fields';

/**
 * The records' stored text: JSON arrays with int64 values as decimal strings,
 * never JSON numbers. A batch encodes each changed record once; PostgreSQL
 * (json_array_elements) and Redis store that same text. Conversation and
 * channel records end with one more element, `writtenAt` (decimal): the
 * version of the batch that wrote them, which Redis compares before replacing
 * a record (a late write from a stalled consumer never wins); PostgreSQL and
 * the decoders ignore it.
 */
export interface EncodedChanges {
  /** With each, its place in the user's indexes (see @cs/domain fan-out.ts). */
  conversations: { record: ConversationRecord; text: string; entry: IndexEntry }[];
  /** Index entries that moved while their conversation's record did not (fan-out to a small group's members). */
  entries: MovedEntry[];
  channels: { record: ChannelRecord; text: string }[];
  messages: { record: MessageRecord; text: string }[];
  /** PostgreSQL only: what each changed window keeps. */
  windows: { record: MessageWindow; text: string }[];
  /** Windows that let go of messages: every copy below `keepFromSeq` is deleted. */
  trims: { channelKey: string; lane: string | null; keepFromSeq: number }[];
}

export interface MovedEntry {
  record: ConversationRecord;
  entry: IndexEntry;
}

/** A conversation of the state with its place in its user's indexes. */
function movedEntryOf(state: ProjectionState, key: string): MovedEntry {
  const record = state.conversations.get(key)!;
  return { record, entry: indexEntryOf(record, state.channels.get(record.channelKey), state.smallGroupMaxMembers) };
}

/** `writtenAt`: the batch's highest version. */
export function encodeChanges(state: ProjectionState, writtenAt: bigint): EncodedChanges {
  return {
    conversations: [...state.changedConversations].map((key) => {
      const { record, entry } = movedEntryOf(state, key);
      return { record, text: encodeConversation(record, writtenAt), entry };
    }),
    entries: movedEntriesOnly(state).map((key) => movedEntryOf(state, key)),
    channels: [...state.changedChannels].map((key) => {
      const record = state.channels.get(key)!;
      return { record, text: encodeChannel(record, writtenAt) };
    }),
    messages: keptNewMessages(state).map((record) => ({ record, text: encodeMessage(record) })),
    windows: [...state.changedWindows].map((key) => {
      const record = state.windows.get(key)!;
      return { record, text: encodeWindow(record) };
    }),
    trims: [...state.trimmedWindows].map((key) => {
      const { channelKey, lane, keptSeqs } = state.windows.get(key)!;
      return { channelKey, lane, keepFromSeq: keptSeqs[0] };
    }),
  };
}

/** A JSON array of already-encoded records. */
export function jsonArrayOf(texts: { text: string }[]): string {
  return `[${texts.map((t) => t.text).join(',')}]`;
}

export function encodeConversation(c: ConversationRecord, writtenAt: bigint): string {
  return encodeFields(CONVERSATION_FIELDS, c, writtenAt);
}

export function decodeConversation(text: string): ConversationRecord {
  const values: unknown[] = JSON.parse(text);
  return decodeFields(CONVERSATION_FIELDS, (_field, i) => values[i]);
}

export function encodeChannel(c: ChannelRecord, writtenAt: bigint): string {
  return encodeFields(CHANNEL_FIELDS, c, writtenAt);
}

export function decodeChannel(text: string): ChannelRecord {
  const values: unknown[] = JSON.parse(text);
  return decodeFields(CHANNEL_FIELDS, (_field, i) => values[i]);
}

export function encodeMessage(m: MessageRecord): string {
  return encodeFields(MESSAGE_FIELDS, m);
}

export function decodeMessage(text: string): MessageRecord {
  const values: unknown[] = JSON.parse(text);
  return decodeFields(MESSAGE_FIELDS, (_field, i) => values[i]);
}

export function encodeWindow(w: MessageWindow): string {
  return JSON.stringify([w.channelKey, w.lane, w.keptSeqs, w.droppedUpTo]);
}
