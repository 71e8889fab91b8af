import {
  ConversationDeletedEvent,
  ConversationReadEvent,
  ConversationUnreadSetEvent,
  ImEvent,
  MessageEvent,
  MessageHeader,
  PERSON_CHANNEL,
  SubscribersChangedEvent,
} from './events';
import { toInt64 } from './int64';

export const MAX_ID_LENGTH = 128;
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;

export type EventValidation = { ok: true; event: ImEvent } | { ok: false; reason: string };

/** Validates an already JSON-parsed record value (integers beyond 2^53 arrive as bigint). */
export function validateEvent(value: unknown): EventValidation {
  try {
    return { ok: true, event: readEvent(value) };
  } catch (error) {
    if (error instanceof InvalidEvent) return { ok: false, reason: error.message };
    throw error;
  }
}

export class InvalidEvent extends Error {}

function readEvent(value: unknown): ImEvent {
  const fields = asObject(value, 'event');
  const type = fields.type;
  switch (type) {
    case 'message':
      return readMessage(fields);
    case 'subscribers_added':
    case 'subscribers_removed':
      return readSubscribersChanged(type, fields);
    case 'conversation_read':
      return readConversationRead(fields);
    case 'conversation_unread_set':
      return readConversationUnreadSet(fields);
    case 'conversation_deleted':
      return readConversationDeleted(fields);
    default:
      throw new InvalidEvent(
        type === undefined ? 'type: required' : `type: unknown event type ${JSON.stringify(String(type))}`,
      );
  }
}

type Fields = Record<string, unknown>;

function readMessage(fields: Fields): MessageEvent {
  const channelType = readChannelType(fields, 'channel_type');
  const subscribers = optional(fields, 'subscribers', readIdList);
  if (subscribers !== null && channelType === PERSON_CHANNEL) {
    throw new InvalidEvent('subscribers: not allowed for a person channel (channel_type 1)');
  }
  const messageId = toInt64(fields.message_id);
  if (messageId === undefined) throw new InvalidEvent(missingOr(fields, 'message_id', 'an int64 integer or decimal string'));
  return {
    type: 'message',
    message_id: messageId,
    message_seq: readInteger(fields, 'message_seq', 1, MAX_SEQ),
    client_msg_no: optional(fields, 'client_msg_no', readString) ?? '',
    from_uid: readId(fields, 'from_uid'),
    channel_id: readId(fields, 'channel_id'),
    channel_type: channelType,
    timestamp: readInteger(fields, 'timestamp', 0, MAX_SEQ),
    payload: readBase64(fields, 'payload'),
    header: optional(fields, 'header', readHeader) ?? { no_persist: 0, red_dot: 0, sync_once: 0 },
    setting: optional(fields, 'setting', (f, k) => readInteger(f, k, 0, 255)) ?? 0,
    expire: optional(fields, 'expire', (f, k) => readInteger(f, k, 0, MAX_SEQ)) ?? 0,
    topic: optional(fields, 'topic', readString) ?? '',
    subscribers,
  };
}

function readSubscribersChanged(type: SubscribersChangedEvent['type'], fields: Fields): SubscribersChangedEvent {
  const channelType = readChannelType(fields, 'channel_type');
  if (channelType === PERSON_CHANNEL) throw new InvalidEvent('channel_type: membership events need a channel_type other than 1');
  return { type, channel_id: readId(fields, 'channel_id'), channel_type: channelType, subscribers: readIdList(fields, 'subscribers') };
}

function readConversationTarget(fields: Fields) {
  return { uid: readId(fields, 'uid'), channel_id: readId(fields, 'channel_id'), channel_type: readChannelType(fields, 'channel_type') };
}

function readConversationRead(fields: Fields): ConversationReadEvent {
  return {
    type: 'conversation_read',
    ...readConversationTarget(fields),
    read_to_seq: optional(fields, 'read_to_seq', (f, k) => readInteger(f, k, 0, MAX_SEQ)),
  };
}

function readConversationUnreadSet(fields: Fields): ConversationUnreadSetEvent {
  return { type: 'conversation_unread_set', ...readConversationTarget(fields), unread: readInteger(fields, 'unread', 0, MAX_SEQ) };
}

function readConversationDeleted(fields: Fields): ConversationDeletedEvent {
  return { type: 'conversation_deleted', ...readConversationTarget(fields) };
}

// --- field readers: each throws InvalidEvent naming the field ---

function asObject(value: unknown, name: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidEvent(`${name}: must be a JSON object`);
  return value as Fields;
}

function optional<T>(fields: Fields, key: string, read: (fields: Fields, key: string) => T): T | null {
  return fields[key] === undefined || fields[key] === null ? null : read(fields, key);
}

function missingOr(fields: Fields, key: string, expected: string): string {
  return fields[key] === undefined ? `${key}: required` : `${key}: must be ${expected}`;
}

function readInteger(fields: Fields, key: string, min: number, max: number): number {
  const value = fields[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidEvent(missingOr(fields, key, `an integer in ${min}..${max}`));
  }
  return value;
}

function readChannelType(fields: Fields, key: string): number {
  return readInteger(fields, key, 1, 255);
}

function readString(fields: Fields, key: string): string {
  const value = fields[key];
  if (typeof value !== 'string') throw new InvalidEvent(missingOr(fields, key, 'a string'));
  if (!isStorableText(value)) throw new InvalidEvent(`${key}: ${UNSTORABLE}`);
  return value;
}

const UNSTORABLE = 'must not contain NUL (\\u0000) or unpaired surrogates';

/** Text PostgreSQL can store: well-formed Unicode without NUL. */
export function isStorableText(value: string): boolean {
  return !UNPAIRED_SURROGATE_OR_NUL.test(value);
}

const UNPAIRED_SURROGATE_OR_NUL = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A non-empty id of at most 128 characters (Unicode code points: an emoji counts as one). */
export function isValidId(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    (value.length <= MAX_ID_LENGTH || codePointCount(value) <= MAX_ID_LENGTH) &&
    isStorableText(value)
  );
}

function codePointCount(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}

function readId(fields: Fields, key: string): string {
  const value = fields[key];
  if (!isValidId(value)) throw new InvalidEvent(missingOr(fields, key, `a non-empty string of at most ${MAX_ID_LENGTH} characters, without NUL or unpaired surrogates`));
  return value;
}

function readIdList(fields: Fields, key: string): string[] {
  const value = fields[key];
  if (!Array.isArray(value)) throw new InvalidEvent(missingOr(fields, key, 'an array of uids'));
  value.forEach((id, index) => {
    if (!isValidId(id)) throw new InvalidEvent(`${key}[${index}]: must be a non-empty string of at most ${MAX_ID_LENGTH} characters, without NUL or unpaired surrogates`);
  });
  return [...new Set(value as string[])];
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function readBase64(fields: Fields, key: string): string {
  const value = readString(fields, key);
  if (!BASE64.test(value)) throw new InvalidEvent(`${key}: must be valid base64`);
  return value;
}

function readFlag(fields: Fields, key: string, prefix: string): 0 | 1 {
  const value = fields[key] ?? 0;
  if (value !== 0 && value !== 1) throw new InvalidEvent(`${prefix}${key}: must be 0 or 1`);
  return value;
}

function readHeader(fields: Fields, key: string): MessageHeader {
  const header = asObject(fields[key], key);
  const prefix = `${key}.`;
  return {
    no_persist: readFlag(header, 'no_persist', prefix),
    red_dot: readFlag(header, 'red_dot', prefix),
    sync_once: readFlag(header, 'sync_once', prefix),
  };
}
