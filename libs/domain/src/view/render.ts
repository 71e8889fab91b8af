import { MessageEvent } from '../events';

/**
 * The JSON members of a recents entry except channel_id (which depends on the
 * reader), rendered once when the message is applied and stored as text.
 * message_id is written as a bare integer, exactly.
 */
export function renderMessageBody(event: MessageEvent): string {
  const h = event.header;
  return (
    `"message_id":${event.message_id},"message_idstr":"${event.message_id}","message_seq":${event.message_seq},` +
    `"client_msg_no":${JSON.stringify(clientMsgNoOf(event))},"from_uid":${JSON.stringify(event.from_uid)},` +
    `"channel_type":${event.channel_type},"timestamp":${event.timestamp},"payload":${JSON.stringify(event.payload)},` +
    `"header":{"no_persist":${h.no_persist},"red_dot":${h.red_dot},"sync_once":${h.sync_once}},` +
    `"setting":${event.setting},"expire":${event.expire},"topic":${JSON.stringify(event.topic)}`
  );
}

/**
 * WuKongIM always generates a client_msg_no, and the native SDKs keep a unique
 * index on it: a message sent without one answers with its message id instead.
 */
export function clientMsgNoOf(event: MessageEvent): string {
  return event.client_msg_no === '' ? event.message_id.toString() : event.client_msg_no;
}

export function renderMessage(channelIdSeenByReader: string, body: string): string {
  return `{"channel_id":${JSON.stringify(channelIdSeenByReader)},${body}}`;
}
