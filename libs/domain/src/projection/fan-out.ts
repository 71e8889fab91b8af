import { viewConversation } from '../view/conversation-view';
import { ChannelRecord, ConversationRecord } from './records';

/**
 * The fan-out rule. A user's conversations are indexed per user, by version
 * and by (timestamp, version), so a sync reads what it returns. A member's
 * entry depends on the channel's latest message, so a message to a small group
 * rewrites each member's entry (the work grows with the members, as Telegram's
 * basic groups); a large group's messages are not fanned out: its members keep
 * it in a per-user set of large groups, which every sync reads beside the index
 * (as Telegram's supergroups are polled per channel). SMALL_GROUP_MAX_MEMBERS
 * is the line; a group crossing it, either way, rewrites its members' entries once.
 */
export const DEFAULT_SMALL_GROUP_MAX_MEMBERS = 200;

export function isLargeGroup(channel: ChannelRecord | undefined, smallGroupMaxMembers: number): boolean {
  return channel !== undefined && channel.memberCount > smallGroupMaxMembers;
}

/**
 * Where a conversation sits in its user's indexes: `indexed` with the version
 * and timestamp its answer entry carries (timestamp null: nothing visible, so
 * no full sync lists it), or `large`: in the user's set of large groups.
 */
export type IndexEntry = { kind: 'indexed'; version: bigint; timestamp: number | null } | { kind: 'large' };

export function indexEntryOf(conversation: ConversationRecord, channel: ChannelRecord | undefined, smallGroupMaxMembers: number): IndexEntry {
  if (conversation.membership === 'member' && isLargeGroup(channel, smallGroupMaxMembers)) return { kind: 'large' };
  const view = viewConversation(conversation, channel);
  return { kind: 'indexed', version: view.version, timestamp: view.head?.timestamp ?? null };
}
