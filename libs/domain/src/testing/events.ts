import {
  ConversationDeletedEvent,
  ConversationReadEvent,
  ConversationUnreadSetEvent,
  MessageEvent,
  PERSON_CHANNEL,
  SubscribersChangedEvent,
} from '../events';

/** Builders of already-validated events with plain defaults, so table rows stay one line. */

export const GROUP = 2;

/** A message; message_id is beyond 2^53 by default, timestamp follows seq. */
export function message(fields: Pick<MessageEvent, 'from_uid' | 'channel_id' | 'channel_type' | 'message_seq'> & Partial<MessageEvent>): MessageEvent {
  return {
    type: 'message',
    message_id: 9_000_000_000_000_000_000n + BigInt(fields.message_seq),
    client_msg_no: `m${fields.message_seq}`,
    timestamp: 1_700_000_000 + fields.message_seq,
    payload: 'aGk=',
    header: { no_persist: 0, red_dot: 0, sync_once: 0 },
    setting: 0,
    expire: 0,
    topic: '',
    subscribers: null,
    ...fields,
  };
}

/** `from` writes to `to` in their person channel. */
export function personMessage(from: string, to: string, seq: number, extra: Partial<MessageEvent> = {}): MessageEvent {
  return message({ from_uid: from, channel_id: to, channel_type: PERSON_CHANNEL, message_seq: seq, ...extra });
}

export function groupMessage(channelId: string, from: string, seq: number, extra: Partial<MessageEvent> = {}): MessageEvent {
  return message({ from_uid: from, channel_id: channelId, channel_type: GROUP, message_seq: seq, ...extra });
}

export function joined(channelId: string, subscribers: string[], channelType = GROUP): SubscribersChangedEvent {
  return { type: 'subscribers_added', channel_id: channelId, channel_type: channelType, subscribers };
}

export function removed(channelId: string, subscribers: string[], channelType = GROUP): SubscribersChangedEvent {
  return { type: 'subscribers_removed', channel_id: channelId, channel_type: channelType, subscribers };
}

export function read(uid: string, channelId: string, channelType: number, readToSeq: number | null = null): ConversationReadEvent {
  return { type: 'conversation_read', uid, channel_id: channelId, channel_type: channelType, read_to_seq: readToSeq };
}

export function unreadSet(uid: string, channelId: string, channelType: number, unread: number): ConversationUnreadSetEvent {
  return { type: 'conversation_unread_set', uid, channel_id: channelId, channel_type: channelType, unread };
}

export function deleted(uid: string, channelId: string, channelType: number): ConversationDeletedEvent {
  return { type: 'conversation_deleted', uid, channel_id: channelId, channel_type: channelType };
}
