import { ChannelRecord, ConversationRecord, MessageHead, MessageRecord, ProjectionState } from '@cs/domain';

/**
 * The records' stored text: JSON arrays with int64 values as decimal strings,
 * never JSON numbers. A batch encodes each changed record once; PostgreSQL
 * (json_array_elements) and Redis store that same text.
 */
export interface EncodedChanges {
  conversations: { record: ConversationRecord; text: string }[];
  channels: { record: ChannelRecord; text: string }[];
  messages: { record: MessageRecord; text: string }[];
}

export function encodeChanges(state: ProjectionState): EncodedChanges {
  return {
    conversations: [...state.changedConversations].map((key) => {
      const record = state.conversations.get(key)!;
      return { record, text: encodeConversation(record) };
    }),
    channels: [...state.changedChannels].map((key) => {
      const record = state.channels.get(key)!;
      return { record, text: encodeChannel(record) };
    }),
    messages: state.newMessages.map((record) => ({ record, text: encodeMessage(record) })),
  };
}

/** A JSON array of already-encoded records. */
export function jsonArrayOf(texts: { text: string }[]): string {
  return `[${texts.map((t) => t.text).join(',')}]`;
}

export function encodeConversation(c: ConversationRecord): string {
  return JSON.stringify([
    c.uid,
    c.channelKey,
    c.channelId,
    c.channelType,
    c.floor,
    c.readSeq,
    c.ownSeq,
    c.directHead,
    c.membership,
    c.leftVersion?.toString() ?? null,
    c.frozenHead,
    c.version.toString(),
    c.clearedVersion?.toString() ?? null,
  ]);
}

export function decodeConversation(text: string): ConversationRecord {
  const [uid, channelKey, channelId, channelType, floor, readSeq, ownSeq, directHead, membership, leftVersion, frozenHead, version, clearedVersion] =
    JSON.parse(text);
  return {
    uid,
    channelKey,
    channelId,
    channelType,
    floor,
    readSeq,
    ownSeq,
    directHead: directHead as MessageHead | null,
    membership,
    leftVersion: leftVersion === null ? null : BigInt(leftVersion),
    frozenHead: frozenHead as MessageHead | null,
    version: BigInt(version),
    clearedVersion: clearedVersion === null ? null : BigInt(clearedVersion),
  };
}

export function encodeChannel(c: ChannelRecord): string {
  return JSON.stringify([c.key, c.channelType, c.latestSeq, c.broadcastHead, c.broadcastVersion.toString()]);
}

export function decodeChannel(text: string): ChannelRecord {
  const [key, channelType, latestSeq, broadcastHead, broadcastVersion] = JSON.parse(text);
  return { key, channelType, latestSeq, broadcastHead, broadcastVersion: BigInt(broadcastVersion) };
}

export function encodeMessage(m: MessageRecord): string {
  return JSON.stringify([m.channelKey, m.seq, m.messageId.toString(), m.fromUid, m.timestamp, m.clientMsgNo, m.version.toString(), m.recipients, m.body]);
}

export function decodeMessage(text: string): MessageRecord {
  const [channelKey, seq, messageId, fromUid, timestamp, clientMsgNo, version, recipients, body] = JSON.parse(text);
  return { channelKey, seq, messageId: BigInt(messageId), fromUid, timestamp, clientMsgNo, version: BigInt(version), recipients, body };
}
