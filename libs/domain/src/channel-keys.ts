import { ImEvent, PERSON_CHANNEL } from './events';

/**
 * A channel's storage key. It is a JSON array, so no two different ids can
 * produce the same key whatever characters they hold, and a person channel is
 * the same key seen from either side: [1, lower uid, higher uid].
 */
export function channelKeyOf(channelType: number, uid: string, channelIdAsSeenByUid: string): string {
  if (channelType !== PERSON_CHANNEL) return JSON.stringify([channelType, channelIdAsSeenByUid]);
  return uid < channelIdAsSeenByUid
    ? JSON.stringify([PERSON_CHANNEL, uid, channelIdAsSeenByUid])
    : JSON.stringify([PERSON_CHANNEL, channelIdAsSeenByUid, uid]);
}

/**
 * The channel an event belongs to: every record it changes is keyed by it, and
 * producers key its Kafka record by it (the same from both sides of a person channel).
 */
export function channelKeyOfEvent(event: ImEvent): string {
  switch (event.type) {
    case 'message':
      return channelKeyOf(event.channel_type, event.from_uid, event.channel_id);
    case 'subscribers_added':
    case 'subscribers_removed':
      return channelKeyOf(event.channel_type, '', event.channel_id);
    case 'conversation_read':
    case 'conversation_unread_set':
    case 'conversation_deleted':
      return channelKeyOf(event.channel_type, event.uid, event.channel_id);
    default: {
      const exhaustive: never = event;
      return exhaustive;
    }
  }
}

/**
 * In-process map key of one user's conversation in one channel. Valid ids
 * never contain NUL, so the separator cannot make two pairs collide.
 */
export function conversationKeyOf(uid: string, channelKey: string): string {
  return `${uid}\u0000${channelKey}`;
}
