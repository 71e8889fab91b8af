import { ImEvent, MessageHeader, PERSON_CHANNEL, channelKeyOf, channelKeyOfEvent, toInt64, validateEvent } from '@cs/domain';
import { parseExactJson } from '@cs/json';

/** A `message` event as a producer gives it: the wire fields, `message_id` as bigint or decimal string. */
export interface MessageInput {
  message_id: bigint | string;
  message_seq: number;
  client_msg_no?: string;
  from_uid: string;
  /** For a person channel (channel_type 1), the recipient's uid. */
  channel_id: string;
  channel_type: number;
  /** Unix seconds. */
  timestamp: number;
  /** Base64 text, or the bytes themselves (encoded for you). */
  payload: string | Uint8Array;
  header?: Partial<MessageHeader>;
  setting?: number;
  expire?: number;
  topic?: string;
  /** Explicit recipients; not allowed on a person channel. */
  subscribers?: string[];
}

export interface MembershipInput {
  channel_id: string;
  /** Any channel type but 1 (person). */
  channel_type: number;
  subscribers: string[];
}

/** One user's conversation; `channel_id` as that user sees it (for a person channel, the other user). */
export interface ConversationInput {
  uid: string;
  channel_id: string;
  channel_type: number;
}

export interface ReadInput extends ConversationInput {
  /** Read up to this seq; omitted = everything delivered. */
  read_to_seq?: number;
}

export interface UnreadInput extends ConversationInput {
  unread: number;
}

/** A Kafka record ready to send: `value` is the exact JSON text, `event` what the consumer will read from it. */
export interface EventRecord {
  key: string;
  value: string;
  event: ImEvent;
}

/** Thrown before anything is sent: the event would be a dead letter. `field` names the offending field. */
export class InvalidEventError extends Error {
  readonly field: string;

  constructor(
    readonly eventType: string,
    readonly reason: string,
  ) {
    super(`invalid ${eventType} event: ${reason}`);
    this.name = 'InvalidEventError';
    this.field = reason.slice(0, reason.indexOf(':'));
  }
}

export function messageRecord(input: MessageInput): EventRecord {
  const { message_id, payload, ...rest } = input;
  return toRecord('message', {
    message_id: toInt64(message_id) ?? message_id,
    ...rest,
    payload: typeof payload === 'string' ? payload : Buffer.from(payload).toString('base64'),
  });
}

export function subscribersAddedRecord(input: MembershipInput): EventRecord {
  return toRecord('subscribers_added', { ...input });
}

export function subscribersRemovedRecord(input: MembershipInput): EventRecord {
  return toRecord('subscribers_removed', { ...input });
}

export function conversationReadRecord(input: ReadInput): EventRecord {
  return toRecord('conversation_read', { ...input });
}

export function conversationUnreadSetRecord(input: UnreadInput): EventRecord {
  return toRecord('conversation_unread_set', { ...input });
}

export function conversationDeletedRecord(input: ConversationInput): EventRecord {
  return toRecord('conversation_deleted', { ...input });
}

/** The record key of a valid event: its channel, the same from both sides of a person channel. */
export function recordKeyOf(event: ImEvent): string {
  return channelKeyOfEvent(event);
}

/**
 * The channel key of a parsed record value that may not be a valid event, or
 * null when it names no channel. An invalid event keyed by its channel keeps
 * its place in the channel's partition if it is replayed from the DLQ later.
 */
export function channelKeyOfRaw(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const fields = value as Record<string, unknown>;
  const { channel_type: channelType, channel_id: channelId } = fields;
  if (typeof channelType !== 'number' || !Number.isInteger(channelType) || typeof channelId !== 'string') return null;
  if (channelType !== PERSON_CHANNEL) return channelKeyOf(channelType, '', channelId);
  const self = fields.type === 'message' ? fields.from_uid : fields.uid;
  return typeof self === 'string' ? channelKeyOf(channelType, self, channelId) : null;
}

/** Writes the JSON (bigint as a bare integer), then validates exactly what the consumer will parse. */
function toRecord(type: ImEvent['type'], fields: Record<string, unknown>): EventRecord {
  // `type` first for readers, and last so that a stray `type` in the input cannot override it.
  const value = writeJson(Object.assign({ type }, fields, { type }));
  const validation = validateEvent(parseExactJson(value));
  if (!validation.ok) throw new InvalidEventError(type, validation.reason);
  return { key: recordKeyOf(validation.event), value, event: validation.event };
}

/** A flat JSON object; undefined members are left out and bigint members written as bare integers. */
function writeJson(fields: Record<string, unknown>): string {
  const members = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${JSON.stringify(name)}:${typeof value === 'bigint' ? value.toString() : JSON.stringify(value)}`);
  return `{${members.join(',')}}`;
}
