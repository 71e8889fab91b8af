/** The IM events other teams publish to KAFKA_TOPIC, after validation. */
export type ImEvent =
  | MessageEvent
  | SubscribersChangedEvent
  | ConversationReadEvent
  | ConversationUnreadSetEvent
  | ConversationDeletedEvent;

export const PERSON_CHANNEL = 1;

export interface MessageHeader {
  no_persist: 0 | 1;
  red_dot: 0 | 1;
  sync_once: 0 | 1;
}

export interface MessageEvent {
  type: 'message';
  message_id: bigint;
  message_seq: number;
  client_msg_no: string;
  from_uid: string;
  /** For a person channel (type 1) this is the recipient's uid. */
  channel_id: string;
  channel_type: number;
  timestamp: number;
  payload: string;
  header: MessageHeader;
  setting: number;
  expire: number;
  topic: string;
  /** Explicit recipients; null means "the channel's members". */
  subscribers: string[] | null;
}

export interface SubscribersChangedEvent {
  type: 'subscribers_added' | 'subscribers_removed';
  channel_id: string;
  channel_type: number;
  subscribers: string[];
}

/** Conversation events name the channel as the user sees it. */
interface ConversationEventBase {
  uid: string;
  channel_id: string;
  channel_type: number;
}

export interface ConversationReadEvent extends ConversationEventBase {
  type: 'conversation_read';
  read_to_seq: number | null;
}

export interface ConversationUnreadSetEvent extends ConversationEventBase {
  type: 'conversation_unread_set';
  unread: number;
}

export interface ConversationDeletedEvent extends ConversationEventBase {
  type: 'conversation_deleted';
}
