import { channelKeyOf } from '@cs/domain';
import { parseExactJson } from '@cs/json';
import {
  InvalidEventError,
  MessageInput,
  channelKeyOfRaw,
  conversationDeletedRecord,
  conversationReadRecord,
  conversationUnreadSetRecord,
  messageRecord,
  subscribersAddedRecord,
  subscribersRemovedRecord,
} from './event-records';

const personMessage: MessageInput = {
  message_id: 9_223_372_036_854_775_807n,
  message_seq: 42,
  from_uid: 'alice',
  channel_id: 'bob',
  channel_type: 1,
  timestamp: 1_764_100_000,
  payload: 'aGVsbG8=',
};

describe('messageRecord', () => {
  it('writes message_id as a bare JSON integer, exactly, from a bigint', () => {
    const record = messageRecord(personMessage);
    expect(record.value).toBe(
      '{"type":"message","message_id":9223372036854775807,"message_seq":42,"from_uid":"alice","channel_id":"bob","channel_type":1,"timestamp":1764100000,"payload":"aGVsbG8="}',
    );
    expect((parseExactJson(record.value) as { message_id: bigint }).message_id).toBe(9_223_372_036_854_775_807n);
    expect(record.event).toMatchObject({ type: 'message', message_id: 9_223_372_036_854_775_807n, client_msg_no: '', subscribers: null });
  });

  it.each([
    { given: '9007199254740993', written: '9007199254740993' },
    { given: '-9223372036854775808', written: '-9223372036854775808' },
    { given: '0042', written: '42' },
    { given: '7', written: '7' },
  ])('writes message_id given as the string $given as the bare integer $written', ({ given, written }) => {
    expect(messageRecord({ ...personMessage, message_id: given }).value).toContain(`"message_id":${written},`);
  });

  it('keys a person message by the pair, the same key from both sides', () => {
    const fromAlice = messageRecord(personMessage);
    const fromBob = messageRecord({ ...personMessage, from_uid: 'bob', channel_id: 'alice', message_seq: 43 });
    expect(fromAlice.key).toBe(channelKeyOf(1, 'alice', 'bob'));
    expect(fromBob.key).toBe(fromAlice.key);
    expect(conversationReadRecord({ uid: 'bob', channel_id: 'alice', channel_type: 1 }).key).toBe(fromAlice.key);
  });

  it('keys a group message by the channel alone', () => {
    const record = messageRecord({ ...personMessage, channel_id: 'team:42', channel_type: 2 });
    expect(record.key).toBe('[2,"team:42"]');
    expect(subscribersAddedRecord({ channel_id: 'team:42', channel_type: 2, subscribers: ['x'] }).key).toBe(record.key);
    expect(conversationDeletedRecord({ uid: 'x', channel_id: 'team:42', channel_type: 2 }).key).toBe(record.key);
  });

  it('base64-encodes a byte payload and keeps every optional field', () => {
    const record = messageRecord({
      ...personMessage,
      channel_type: 3,
      payload: Buffer.from('hello'),
      client_msg_no: 'c-1',
      header: { red_dot: 1 },
      setting: 2,
      expire: 60,
      topic: 't',
      subscribers: ['x', 'y'],
    });
    expect(JSON.parse(record.value)).toMatchObject({ payload: 'aGVsbG8=', client_msg_no: 'c-1', header: { red_dot: 1 }, setting: 2, expire: 60, topic: 't', subscribers: ['x', 'y'] });
    expect(record.event).toMatchObject({ header: { no_persist: 0, red_dot: 1, sync_once: 0 }, subscribers: ['x', 'y'] });
  });

  it('leaves out optional fields given as undefined', () => {
    expect(messageRecord({ ...personMessage, topic: undefined, header: undefined }).value).not.toMatch(/topic|header/);
  });

  it('writes ids with any characters as they are', () => {
    const record = messageRecord({ ...personMessage, from_uid: 'a"b\\c 用户 @:|{', channel_id: '😀' });
    expect(JSON.parse(record.value)).toMatchObject({ from_uid: 'a"b\\c 用户 @:|{', channel_id: '😀' });
  });

  it('cannot be made to send another type by a stray field', () => {
    const input = { ...personMessage, type: 'conversation_deleted' } as MessageInput;
    expect(JSON.parse(messageRecord(input).value).type).toBe('message');
  });
});

describe('invalid input is refused before sending, naming the field', () => {
  it.each([
    { name: 'message_id not an integer', build: () => messageRecord({ ...personMessage, message_id: '1.5' }), field: 'message_id' },
    { name: 'message_id beyond int64', build: () => messageRecord({ ...personMessage, message_id: 2n ** 63n }), field: 'message_id' },
    { name: 'message_seq 0', build: () => messageRecord({ ...personMessage, message_seq: 0 }), field: 'message_seq' },
    { name: 'message_seq 2^53', build: () => messageRecord({ ...personMessage, message_seq: 2 ** 53 }), field: 'message_seq' },
    { name: 'message_seq NaN', build: () => messageRecord({ ...personMessage, message_seq: Number.NaN }), field: 'message_seq' },
    { name: 'a payload that is not base64', build: () => messageRecord({ ...personMessage, payload: 'hello' }), field: 'payload' },
    { name: 'a from_uid of 129 characters', build: () => messageRecord({ ...personMessage, from_uid: 'a'.repeat(129) }), field: 'from_uid' },
    { name: 'an empty channel_id', build: () => messageRecord({ ...personMessage, channel_id: '' }), field: 'channel_id' },
    { name: 'channel_type 256', build: () => messageRecord({ ...personMessage, channel_type: 256 }), field: 'channel_type' },
    { name: 'a header flag 2', build: () => messageRecord({ ...personMessage, header: { sync_once: 2 as 0 } }), field: 'header.sync_once' },
    { name: 'subscribers on a person channel', build: () => messageRecord({ ...personMessage, subscribers: ['x'] }), field: 'subscribers' },
    { name: 'an empty subscriber', build: () => subscribersAddedRecord({ channel_id: 'g', channel_type: 2, subscribers: ['a', ''] }), field: 'subscribers[1]' },
    { name: 'membership on a person channel', build: () => subscribersRemovedRecord({ channel_id: 'g', channel_type: 1, subscribers: ['a'] }), field: 'channel_type' },
    { name: 'read_to_seq -1', build: () => conversationReadRecord({ uid: 'u', channel_id: 'c', channel_type: 1, read_to_seq: -1 }), field: 'read_to_seq' },
    { name: 'unread 1.5', build: () => conversationUnreadSetRecord({ uid: 'u', channel_id: 'c', channel_type: 2, unread: 1.5 }), field: 'unread' },
    { name: 'a missing uid', build: () => conversationDeletedRecord({ channel_id: 'c', channel_type: 2 } as never), field: 'uid' },
  ])('$name', ({ build, field }) => {
    let thrown: unknown;
    try {
      build();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidEventError);
    expect(thrown).toMatchObject({ field });
    expect((thrown as Error).message).toMatch(new RegExp(`^invalid \\w+ event: ${field.replace(/[[\].]/g, '\\$&')}: `));
  });
});

describe('the other events', () => {
  it.each([
    { build: () => subscribersAddedRecord({ channel_id: 'g', channel_type: 2, subscribers: ['a', 'a', 'b'] }), value: { type: 'subscribers_added', channel_id: 'g', channel_type: 2, subscribers: ['a', 'a', 'b'] } },
    { build: () => subscribersRemovedRecord({ channel_id: 'g', channel_type: 2, subscribers: ['a'] }), value: { type: 'subscribers_removed', channel_id: 'g', channel_type: 2, subscribers: ['a'] } },
    { build: () => conversationReadRecord({ uid: 'u', channel_id: 'c', channel_type: 1 }), value: { type: 'conversation_read', uid: 'u', channel_id: 'c', channel_type: 1 } },
    { build: () => conversationReadRecord({ uid: 'u', channel_id: 'c', channel_type: 1, read_to_seq: 7 }), value: { type: 'conversation_read', uid: 'u', channel_id: 'c', channel_type: 1, read_to_seq: 7 } },
    { build: () => conversationUnreadSetRecord({ uid: 'u', channel_id: 'c', channel_type: 2, unread: 0 }), value: { type: 'conversation_unread_set', uid: 'u', channel_id: 'c', channel_type: 2, unread: 0 } },
    { build: () => conversationDeletedRecord({ uid: 'u', channel_id: 'c', channel_type: 1 }), value: { type: 'conversation_deleted', uid: 'u', channel_id: 'c', channel_type: 1 } },
  ])('builds $value.type', ({ build, value }) => {
    const record = build();
    expect(JSON.parse(record.value)).toEqual(value);
    expect(record.event.type).toBe(value.type);
  });
});

describe('channelKeyOfRaw', () => {
  it.each([
    { value: { type: 'message', from_uid: 'b', channel_id: 'a', channel_type: 1, message_seq: 0 }, key: channelKeyOf(1, 'a', 'b') },
    { value: { type: 'conversation_read', uid: 'b', channel_id: 'a', channel_type: 1 }, key: channelKeyOf(1, 'a', 'b') },
    { value: { type: 'message', channel_id: 'g', channel_type: 2, payload: '!' }, key: '[2,"g"]' },
    { value: { type: 'nonsense', channel_id: 'g', channel_type: 9 }, key: '[9,"g"]' },
    { value: { type: 'message', channel_id: 'a', channel_type: 1 }, key: null },
    { value: { channel_id: 'g', channel_type: '2' }, key: null },
    { value: { channel_id: 5, channel_type: 2 }, key: null },
    { value: [1, 2], key: null },
    { value: null, key: null },
    { value: 'text', key: null },
  ])('gives $key for $value', ({ value, key }) => {
    expect(channelKeyOfRaw(value)).toBe(key);
  });
});
