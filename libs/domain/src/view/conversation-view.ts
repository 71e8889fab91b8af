import { maxBigint } from '../int64';
import { ChannelRecord, ConversationRecord, MessageHead, MessageRecord, higherHead } from '../projection/records';

/** What one user sees of one conversation, computed from its small per-user record and the channel's. */
export interface ConversationView {
  conversation: ConversationRecord;
  /** The latest visible message; null when nothing is visible. */
  head: MessageHead | null;
  lastMsgSeq: number;
  readedToMsgSeq: number;
  unread: number;
  version: bigint;
  /** No visible message, but there were: incremental syncs report it deleted. */
  cleared: boolean;
}

export function viewConversation(conversation: ConversationRecord, channel: ChannelRecord | undefined): ConversationView {
  const head = visibleHead(conversation, channel);
  const lastMsgSeq = head?.seq ?? 0;
  const readedToMsgSeq = Math.min(lastMsgSeq, Math.max(conversation.readSeq, conversation.ownSeq, conversation.floor));
  return {
    conversation,
    head,
    lastMsgSeq,
    readedToMsgSeq,
    unread: lastMsgSeq - readedToMsgSeq,
    version: effectiveVersion(conversation, channel),
    cleared: head === null && conversation.clearedVersion !== null,
  };
}

/** The latest member-delivered message this user received: live while a member, frozen once removed. */
function broadcastHeadOf(conversation: ConversationRecord, channel: ChannelRecord | undefined): MessageHead | null {
  switch (conversation.membership) {
    case 'member':
      return channel?.broadcastHead ?? null;
    case 'left':
      return conversation.frozenHead;
    case 'none':
      return null;
    default: {
      const exhaustive: never = conversation.membership;
      return exhaustive;
    }
  }
}

export function visibleHead(conversation: ConversationRecord, channel: ChannelRecord | undefined): MessageHead | null {
  const aboveFloor = (head: MessageHead | null) => (head !== null && head.seq > conversation.floor ? head : null);
  return higherHead(aboveFloor(broadcastHeadOf(conversation, channel)), aboveFloor(conversation.directHead));
}

/** Latest seq delivered to the user, visible or not. */
export function deliveredSeq(conversation: ConversationRecord, channel: ChannelRecord | undefined): number {
  return higherHead(broadcastHeadOf(conversation, channel), conversation.directHead)?.seq ?? 0;
}

function effectiveVersion(conversation: ConversationRecord, channel: ChannelRecord | undefined): bigint {
  return conversation.membership === 'member' && channel
    ? maxBigint(conversation.version, channel.broadcastVersion)
    : conversation.version;
}

/** Whether a stored message is one of the user's visible messages. */
export function isVisibleTo(conversation: ConversationRecord, message: MessageRecord): boolean {
  if (message.seq <= conversation.floor) return false;
  if (message.recipients !== null) return message.recipients.includes(conversation.uid);
  switch (conversation.membership) {
    case 'member':
      // Messages applied before joining all have seq <= floor.
      return true;
    case 'left':
      return conversation.leftVersion !== null && message.version < conversation.leftVersion;
    case 'none':
      return false;
    default: {
      const exhaustive: never = conversation.membership;
      return exhaustive;
    }
  }
}
