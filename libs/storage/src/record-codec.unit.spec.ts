import { ChannelRecord, ConversationRecord, MessageRecord } from '@cs/domain';
import {
  CHANNEL_FIELDS,
  CONVERSATION_FIELDS,
  MESSAGE_FIELDS,
  channelFieldPosition,
  decodeChannel,
  decodeConversation,
  decodeMessage,
  encodeChannel,
  encodeConversation,
  encodeMessage,
} from './record-codec';

/** The batch that wrote the record (Redis compares it before replacing one). */
const writtenAt = 9_223_372_036_854_773_760n;
const head = { seq: 9_007_199_254_740_991, timestamp: 1_700_000_000, clientMsgNo: 'c' };
const channel: ChannelRecord = { key: '[2,"g"]', channelType: 2, latestSeq: 7, broadcastHead: head, broadcastVersion: 9_223_372_036_854_774_784n, memberCount: 201 };
const conversation: ConversationRecord = {
  uid: 'u',
  channelKey: '[2,"g"]',
  channelId: 'g',
  channelType: 2,
  floor: 1,
  readSeq: 2,
  ownSeq: 3,
  directHead: null,
  membership: 'left',
  leftVersion: 1_800_000_000_000_001_024n,
  frozenHead: head,
  version: 9_223_372_036_854_774_784n,
  clearedVersion: null,
};

const message: MessageRecord = {
  channelKey: '[2,"g"]',
  seq: 9_007_199_254_740_991,
  messageId: 9_223_372_036_854_775_807n,
  fromUid: 'u',
  timestamp: 1_700_000_000,
  clientMsgNo: '9223372036854775807',
  version: 9_223_372_036_854_774_784n,
  recipients: null,
  body: '"message_id":9223372036854775807',
  lane: null,
};

describe('record codec, from the field lists', () => {
  it.each([
    ['a channel', channel, encodeChannel, decodeChannel],
    ['a conversation', conversation, encodeConversation, decodeConversation],
    ['a message of the channel window', message, encodeMessage, decodeMessage],
    ['a message of a recipient window', { ...message, recipients: ['v'], lane: 'v' }, encodeMessage, decodeMessage],
  ] as const)('%s round-trips exactly (int64 as decimal strings, nulls kept)', (_what, record, encode, decode) => {
    const text = (encode as (r: typeof record, at: bigint) => string)(record, writtenAt);
    expect(text).not.toMatch(/:?9223372036854774784[^"]/);
    expect(decode(text)).toEqual(record);
  });

  it('stores each field at its place in the list, which Lua reads by position, and the written-at version after them', () => {
    const values = JSON.parse(encodeChannel(channel, writtenAt));
    expect(values).toHaveLength(CHANNEL_FIELDS.length + 1);
    expect(values[channelFieldPosition('broadcastVersion') - 1]).toBe('9223372036854774784');
    expect(values[CHANNEL_FIELDS.length]).toBe('9223372036854773760');
    const conversationValues = JSON.parse(encodeConversation(conversation, writtenAt));
    expect(conversationValues).toHaveLength(CONVERSATION_FIELDS.length + 1);
    expect(conversationValues[CONVERSATION_FIELDS.length]).toBe('9223372036854773760');
    expect(JSON.parse(encodeMessage(message))).toHaveLength(MESSAGE_FIELDS.length);
  });
});
