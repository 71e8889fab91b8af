/**
 * The projection's records. The same shapes are stored in PostgreSQL (the
 * truth) and Redis (the hot read path). A group message is stored once per
 * channel; per-user state stays small, and what a user sees is computed at
 * read time (see view/conversation-view.ts).
 */

export interface MessageHead {
  seq: number;
  timestamp: number;
  clientMsgNo: string;
}

export interface ChannelRecord {
  key: string;
  channelType: number;
  /** Highest seq applied to the channel, whoever it was delivered to. */
  latestSeq: number;
  /** Highest-seq message delivered to the channel's members (no explicit recipients). */
  broadcastHead: MessageHead | null;
  /** Version of the last member-delivered message applied, late arrivals included. */
  broadcastVersion: bigint;
  /** Current members: decides whether the channel's messages are fanned out to them (see fan-out.ts). */
  memberCount: number;
}

export type Membership = 'none' | 'member' | 'left';

export interface ConversationRecord {
  uid: string;
  channelKey: string;
  /** The channel id as this user sees it. */
  channelId: string;
  channelType: number;
  /** Messages at or below the floor are invisible to this user. */
  floor: number;
  readSeq: number;
  /** Highest seq this user sent in the channel. */
  ownSeq: number;
  /** Highest-seq message delivered to this user by name (person channel or explicit subscribers). */
  directHead: MessageHead | null;
  membership: Membership;
  /** Version of the removal; member-delivered messages applied after it are not this user's. */
  leftVersion: bigint | null;
  /** The channel's broadcastHead when this user was removed. */
  frozenHead: MessageHead | null;
  version: bigint;
  /** Set when visible messages were hidden (delete, re-join): incremental syncs then send a tombstone. */
  clearedVersion: bigint | null;
}

export interface MessageRecord {
  channelKey: string;
  seq: number;
  messageId: bigint;
  fromUid: string;
  timestamp: number;
  clientMsgNo: string;
  /** Version at which it was applied. */
  version: bigint;
  /** Explicit recipients, or null for "the channel's members". A group message's copy in a recipient's window names that recipient only. */
  recipients: string[] | null;
  /** The window this copy is kept in (see retention.ts): null = the channel's, a uid = that explicit recipient's. */
  lane: string | null;
  /** The message's JSON members except channel_id, which depends on who reads it. */
  body: string;
}

export function newChannel(key: string, channelType: number): ChannelRecord {
  return { key, channelType, latestSeq: 0, broadcastHead: null, broadcastVersion: 0n, memberCount: 0 };
}

export function newConversation(uid: string, channelKey: string, channelId: string, channelType: number): ConversationRecord {
  return {
    uid,
    channelKey,
    channelId,
    channelType,
    floor: 0,
    readSeq: 0,
    ownSeq: 0,
    directHead: null,
    membership: 'none',
    leftVersion: null,
    frozenHead: null,
    version: 0n,
    clearedVersion: null,
  };
}

export function higherHead(a: MessageHead | null, b: MessageHead | null): MessageHead | null {
  if (a === null) return b;
  if (b === null) return a;
  return b.seq > a.seq ? b : a;
}
