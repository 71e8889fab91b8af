import { channelKeyOf } from '@cs/domain';

/** Event builders for end-to-end tests: plain defaults, so each case states only what it is about. */

export const PERSON = 1;
export const GROUP = 2;

/** A person channel's key, as producers key its records: the same from either side. */
export function personKey(a: string, b: string): string {
  return channelKeyOf(PERSON, a, b);
}

export function message(from: string, channelId: string, channelType: number, seq: number, extra: Record<string, unknown> = {}) {
  return {
    type: 'message',
    message_id: 1_000_000 + seq,
    message_seq: seq,
    client_msg_no: `c${seq}`,
    from_uid: from,
    channel_id: channelId,
    channel_type: channelType,
    timestamp: 1_700_000_000 + seq,
    payload: Buffer.from(`message ${seq}`).toString('base64'),
    ...extra,
  };
}

export function personMessage(from: string, to: string, seq: number, extra: Record<string, unknown> = {}) {
  return message(from, to, PERSON, seq, extra);
}

export function groupMessage(channel: string, from: string, seq: number, extra: Record<string, unknown> = {}) {
  return message(from, channel, GROUP, seq, extra);
}

export function joined(channel: string, subscribers: string[], channelType = GROUP) {
  return { type: 'subscribers_added', channel_id: channel, channel_type: channelType, subscribers };
}

export function removed(channel: string, subscribers: string[], channelType = GROUP) {
  return { type: 'subscribers_removed', channel_id: channel, channel_type: channelType, subscribers };
}

export function read(uid: string, channelId: string, channelType: number, readToSeq?: number) {
  return { type: 'conversation_read', uid, channel_id: channelId, channel_type: channelType, ...(readToSeq === undefined ? {} : { read_to_seq: readToSeq }) };
}

export function unreadSet(uid: string, channelId: string, channelType: number, unread: number) {
  return { type: 'conversation_unread_set', uid, channel_id: channelId, channel_type: channelType, unread };
}

export function deleted(uid: string, channelId: string, channelType: number) {
  return { type: 'conversation_deleted', uid, channel_id: channelId, channel_type: channelType };
}
