import { validateEvent } from './event-validation';

const message = {
  type: 'message',
  message_id: 1,
  message_seq: 1,
  from_uid: 'a',
  channel_id: 'b',
  channel_type: 1,
  timestamp: 1_700_000_000,
  payload: 'aGk=',
};
const group = { ...message, channel_type: 2 };
const without = (fields: Record<string, unknown>, key: string) => Object.fromEntries(Object.entries(fields).filter(([k]) => k !== key));
const conversation = { uid: 'u', channel_id: 'a', channel_type: 1 };
const membership = { type: 'subscribers_added', channel_id: 'g', channel_type: 2, subscribers: ['a'] };

describe('validateEvent: valid events', () => {
  it.each([
    { name: 'a minimal person message', value: message, event: { ...message, message_id: 1n, client_msg_no: '', header: { no_persist: 0, red_dot: 0, sync_once: 0 }, setting: 0, expire: 0, topic: '', subscribers: null } },
    { name: 'an empty payload', value: { ...message, payload: '' }, event: { payload: '' } },
    { name: 'padded base64 payloads', value: { ...message, payload: 'aGVsbG8=' }, event: { payload: 'aGVsbG8=' } },
    { name: 'message_id as a decimal string beyond 2^53, exact', value: { ...message, message_id: '9223372036854775807' }, event: { message_id: 9_223_372_036_854_775_807n } },
    { name: 'message_id as a bigint beyond 2^53, exact', value: { ...message, message_id: 9_007_199_254_740_993n }, event: { message_id: 9_007_199_254_740_993n } },
    { name: 'a negative int64 message_id', value: { ...message, message_id: '-9223372036854775808' }, event: { message_id: -9_223_372_036_854_775_808n } },
    { name: 'message_seq 2^53-1', value: { ...message, message_seq: Number.MAX_SAFE_INTEGER }, event: { message_seq: Number.MAX_SAFE_INTEGER } },
    { name: 'channel_type 255', value: { ...message, channel_type: 255 }, event: { channel_type: 255 } },
    { name: 'header, setting, expire, topic, client_msg_no', value: { ...message, header: { red_dot: 1 }, setting: 2, expire: 30, topic: 't', client_msg_no: 'c' }, event: { header: { no_persist: 0, red_dot: 1, sync_once: 0 }, setting: 2, expire: 30, topic: 't', client_msg_no: 'c' } },
    { name: 'null optional fields take their defaults', value: { ...message, header: null, client_msg_no: null, subscribers: null }, event: { header: { no_persist: 0, red_dot: 0, sync_once: 0 }, client_msg_no: '', subscribers: null } },
    { name: 'subscribers on a group channel, deduplicated', value: { ...group, subscribers: ['x', 'y', 'x'] }, event: { subscribers: ['x', 'y'] } },
    { name: 'ids of 128 characters with @ : | { spaces and CJK', value: { ...message, from_uid: 'a@b:c|{ 用户'.padEnd(128, '字'), channel_id: '用户 @:|{' }, event: { from_uid: 'a@b:c|{ 用户'.padEnd(128, '字'), channel_id: '用户 @:|{' } },
    { name: 'subscribers_added', value: membership, event: membership },
    { name: 'subscribers_removed', value: { ...membership, type: 'subscribers_removed' }, event: { type: 'subscribers_removed' } },
    { name: 'conversation_read without read_to_seq', value: { ...conversation, type: 'conversation_read' }, event: { read_to_seq: null } },
    { name: 'conversation_read with read_to_seq', value: { ...conversation, type: 'conversation_read', read_to_seq: 5 }, event: { uid: 'u', read_to_seq: 5 } },
    { name: 'conversation_unread_set', value: { ...conversation, type: 'conversation_unread_set', unread: 0 }, event: { unread: 0 } },
    { name: 'conversation_deleted', value: { ...conversation, type: 'conversation_deleted' }, event: { type: 'conversation_deleted', uid: 'u', channel_id: 'a', channel_type: 1 } },
  ])('accepts $name', ({ value, event }) => {
    expect(validateEvent(value)).toMatchObject({ ok: true, event });
  });

  it('keeps a large message_id exact from a bigint and from a string', () => {
    const fromBigint = validateEvent({ ...message, message_id: 2n ** 62n + 1n });
    const fromString = validateEvent({ ...message, message_id: (2n ** 62n + 1n).toString() });
    expect(fromBigint.ok && fromBigint.event.type === 'message' && fromBigint.event.message_id).toBe(4_611_686_018_427_387_905n);
    expect(fromString.ok && fromString.event.type === 'message' && fromString.event.message_id).toBe(4_611_686_018_427_387_905n);
  });
});

describe('validateEvent: invalid events name the field', () => {
  const requiredOfMessage = ['message_id', 'message_seq', 'from_uid', 'channel_id', 'channel_type', 'timestamp', 'payload'];
  it.each([
    { name: 'null', value: null, field: 'event' },
    { name: 'an array', value: [message], field: 'event' },
    { name: 'a string', value: 'message', field: 'event' },
    { name: 'a number', value: 42, field: 'event' },
    { name: 'no type', value: without(message, 'type'), field: 'type' },
    { name: 'an unknown type', value: { ...message, type: 'messages' }, field: 'type' },
    { name: 'a non-string type', value: { ...message, type: 1 }, field: 'type' },
    ...requiredOfMessage.map((key) => ({ name: `a message without ${key}`, value: without(message, key), field: key })),
    ...requiredOfMessage.map((key) => ({ name: `a message with ${key} null`, value: { ...message, [key]: null }, field: key })),
    { name: 'channel_type 0', value: { ...message, channel_type: 0 }, field: 'channel_type' },
    { name: 'channel_type 256', value: { ...message, channel_type: 256 }, field: 'channel_type' },
    { name: 'channel_type 1.5', value: { ...message, channel_type: 1.5 }, field: 'channel_type' },
    { name: 'channel_type "1"', value: { ...message, channel_type: '1' }, field: 'channel_type' },
    { name: 'message_seq 0', value: { ...message, message_seq: 0 }, field: 'message_seq' },
    { name: 'message_seq -1', value: { ...message, message_seq: -1 }, field: 'message_seq' },
    { name: 'message_seq 2^53', value: { ...message, message_seq: 2 ** 53 }, field: 'message_seq' },
    { name: 'message_seq as a bigint beyond 2^53', value: { ...message, message_seq: 2n ** 53n + 1n }, field: 'message_seq' },
    { name: 'message_seq 1.5', value: { ...message, message_seq: 1.5 }, field: 'message_seq' },
    { name: 'message_seq "1"', value: { ...message, message_seq: '1' }, field: 'message_seq' },
    { name: 'message_id "abc"', value: { ...message, message_id: 'abc' }, field: 'message_id' },
    { name: 'message_id 1.5', value: { ...message, message_id: 1.5 }, field: 'message_id' },
    { name: 'message_id "1.0"', value: { ...message, message_id: '1.0' }, field: 'message_id' },
    { name: 'message_id "" ', value: { ...message, message_id: '' }, field: 'message_id' },
    { name: 'message_id beyond int64 (string)', value: { ...message, message_id: '9223372036854775808' }, field: 'message_id' },
    { name: 'message_id beyond int64 (bigint)', value: { ...message, message_id: 2n ** 63n }, field: 'message_id' },
    { name: 'message_id as an unsafe double', value: { ...message, message_id: 2 ** 60 }, field: 'message_id' },
    { name: 'timestamp -1', value: { ...message, timestamp: -1 }, field: 'timestamp' },
    { name: 'timestamp 1.5', value: { ...message, timestamp: 1.5 }, field: 'timestamp' },
    { name: 'payload not base64', value: { ...message, payload: 'not base64!' }, field: 'payload' },
    { name: 'payload with a bad length', value: { ...message, payload: 'aGk' }, field: 'payload' },
    { name: 'payload with padding inside', value: { ...message, payload: 'aG=k' }, field: 'payload' },
    { name: 'payload not a string', value: { ...message, payload: 5 }, field: 'payload' },
    { name: 'header flag 2', value: { ...message, header: { no_persist: 2 } }, field: 'header.no_persist' },
    { name: 'header flag true', value: { ...message, header: { sync_once: true } }, field: 'header.sync_once' },
    { name: 'header not an object', value: { ...message, header: 1 }, field: 'header' },
    { name: 'subscribers on a person channel', value: { ...message, subscribers: ['x'] }, field: 'subscribers' },
    { name: 'subscribers not an array', value: { ...group, subscribers: 'x' }, field: 'subscribers' },
    { name: 'an empty subscriber', value: { ...group, subscribers: ['x', ''] }, field: 'subscribers[1]' },
    { name: 'from_uid of 129 characters', value: { ...message, from_uid: 'a'.repeat(129) }, field: 'from_uid' },
    { name: 'channel_id of 129 characters', value: { ...message, channel_id: '字'.repeat(129) }, field: 'channel_id' },
    { name: 'an empty channel_id', value: { ...message, channel_id: '' }, field: 'channel_id' },
    { name: 'a non-string from_uid', value: { ...message, from_uid: 7 }, field: 'from_uid' },
    { name: 'client_msg_no not a string', value: { ...message, client_msg_no: 1 }, field: 'client_msg_no' },
    { name: 'setting 256', value: { ...message, setting: 256 }, field: 'setting' },
    { name: 'expire -1', value: { ...message, expire: -1 }, field: 'expire' },
    { name: 'topic not a string', value: { ...message, topic: {} }, field: 'topic' },
    { name: 'a membership event on a person channel', value: { ...membership, channel_type: 1 }, field: 'channel_type' },
    { name: 'a membership event without subscribers', value: without(membership, 'subscribers'), field: 'subscribers' },
    { name: 'a membership event with a subscriber of 129 characters', value: { ...membership, subscribers: ['a'.repeat(129)] }, field: 'subscribers[0]' },
    { name: 'a membership event without channel_id', value: without(membership, 'channel_id'), field: 'channel_id' },
    { name: 'a conversation event without uid', value: { ...without(conversation, 'uid'), type: 'conversation_deleted' }, field: 'uid' },
    { name: 'a conversation event with channel_type 0', value: { ...conversation, channel_type: 0, type: 'conversation_read' }, field: 'channel_type' },
    { name: 'read_to_seq -1', value: { ...conversation, type: 'conversation_read', read_to_seq: -1 }, field: 'read_to_seq' },
    { name: 'read_to_seq "5"', value: { ...conversation, type: 'conversation_read', read_to_seq: '5' }, field: 'read_to_seq' },
    { name: 'unread missing', value: { ...conversation, type: 'conversation_unread_set' }, field: 'unread' },
    { name: 'unread -1', value: { ...conversation, type: 'conversation_unread_set', unread: -1 }, field: 'unread' },
    { name: 'unread 1.5', value: { ...conversation, type: 'conversation_unread_set', unread: 1.5 }, field: 'unread' },
  ])('rejects $name, naming $field', ({ value, field }) => {
    const result = validateEvent(value);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason.startsWith(`${field}: `)).toBe(true);
  });

  it('gives a readable reason', () => {
    expect(validateEvent({ ...message, channel_type: 256 })).toEqual({ ok: false, reason: 'channel_type: must be an integer in 1..255' });
    expect(validateEvent(without(message, 'payload'))).toEqual({ ok: false, reason: 'payload: required' });
  });
});
