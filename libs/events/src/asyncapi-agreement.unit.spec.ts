import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { ValidateFunction } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { MAX_SEQ, channelKeyOf, validateEvent } from '@cs/domain';
import { parseExactJson } from '@cs/json';

/**
 * docs/asyncapi.yaml and the consumer's validation (validateEvent) must not
 * drift: one table of event texts goes through both, and they must agree.
 * validateEvent gets the text parsed exactly (int64 beyond 2^53 as bigint), as
 * the consumer does; ajv gets it from JSON.parse, as a producer's tooling would.
 */

type Doc = Record<string, any>;

const doc = parseYaml(readFileSync(join(__dirname, '..', '..', '..', 'docs', 'asyncapi.yaml'), 'utf8')) as Doc;
const EVENT_TYPES = ['message', 'subscribers_added', 'subscribers_removed', 'conversation_read', 'conversation_unread_set', 'conversation_deleted'];

/** Replaces every local `$ref` by what it points at (the document has no cycles). */
function resolveRefs(node: unknown): any {
  if (Array.isArray(node)) return node.map(resolveRefs);
  if (typeof node !== 'object' || node === null) return node;
  const ref = (node as Doc).$ref;
  if (typeof ref === 'string') return resolveRefs(pointer(ref));
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, resolveRefs(value)]));
}

function pointer(ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`only local references are expected, got ${ref}`);
  return ref
    .slice(2)
    .split('/')
    .reduce((node: any, part) => {
      const next = node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
      if (next === undefined) throw new Error(`${ref} points at nothing`);
      return next;
    }, doc);
}

// Ids are measured in code points by validateEvent, as JSON Schema's maxLength (ajv's default) does.
const ajv = new Ajv({ strict: true, allowUnionTypes: true });
const eventMessages = Object.values(resolveRefs(doc.channels.imEvents.messages)) as Doc[];
const validators: ValidateFunction[] = eventMessages.map((message) => ajv.compile(message.payload));
const schemaAccepts = (value: unknown) => validators.filter((validate) => validate(value)).length === 1;

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
const membership = { type: 'subscribers_added', channel_id: 'g', channel_type: 2, subscribers: ['a', 'b'] };
const conversation = { uid: 'u', channel_id: 'a', channel_type: 1 };
const read = { ...conversation, type: 'conversation_read' };
const unreadSet = { ...conversation, type: 'conversation_unread_set', unread: 1 };
const deleted = { ...conversation, type: 'conversation_deleted' };
const without = (fields: object, key: string) => Object.fromEntries(Object.entries(fields).filter(([k]) => k !== key));
const emoji = '😀'; // 2 UTF-16 code units, 1 code point
/** The text of a message event with `message_id` written literally (for integers beyond 2^53). */
const messageWithId = (literal: string) => JSON.stringify(message).replace('"message_id":1', `"message_id":${literal}`);

interface Row {
  name: string;
  /** The event: an object (sent as JSON.stringify) or the exact JSON text. */
  event: unknown;
  valid: boolean;
}

const row = (name: string, event: unknown, valid: boolean): Row => ({ name, event, valid });
const requiredOfMessage = ['message_id', 'message_seq', 'from_uid', 'channel_id', 'channel_type', 'timestamp', 'payload'];

const ROWS: Row[] = [
  // --- not an event at all
  row('null', null, false),
  row('an array', [message], false),
  row('a string', 'message', false),
  row('a number', 42, false),
  row('an object without type', without(message, 'type'), false),
  row('an unknown type', { ...message, type: 'messages' }, false),
  row('type in another case', { ...message, type: 'Message' }, false),
  row('a non-string type', { ...message, type: 1 }, false),

  // --- message: required fields
  row('a minimal person message', message, true),
  row('a message with unknown extra fields', { ...message, extra: { any: 'thing' }, uid: 5 }, true),
  ...requiredOfMessage.map((key) => row(`a message without ${key}`, without(message, key), false)),
  ...requiredOfMessage.map((key) => row(`a message with ${key} null`, { ...message, [key]: null }, false)),

  // --- message_id: int64 as integer or decimal string
  row('message_id 0', { ...message, message_id: 0 }, true),
  row('message_id -1', { ...message, message_id: -1 }, true),
  row('message_id 2^53-1', { ...message, message_id: Number.MAX_SAFE_INTEGER }, true),
  row('message_id 2^53+1 as a bare integer', messageWithId('9007199254740993'), true),
  row('message_id int64 max as a bare integer', messageWithId('9223372036854775807'), true),
  row('message_id int64 min as a bare integer', messageWithId('-9223372036854775808'), true),
  row('message_id 20 digits as a bare integer', messageWithId('99999999999999999999'), false),
  row('message_id "0"', { ...message, message_id: '0' }, true),
  row('message_id "-0"', { ...message, message_id: '-0' }, true),
  row('message_id int64 max as a string', { ...message, message_id: '9223372036854775807' }, true),
  row('message_id int64 max + 1 as a string', { ...message, message_id: '9223372036854775808' }, false),
  row('message_id int64 min as a string', { ...message, message_id: '-9223372036854775808' }, true),
  row('message_id int64 min - 1 as a string', { ...message, message_id: '-9223372036854775809' }, false),
  row('message_id "9223372036854775799"', { ...message, message_id: '9223372036854775799' }, true),
  row('message_id "9223372036854775800"', { ...message, message_id: '9223372036854775800' }, true),
  row('message_id "9223372036854775810"', { ...message, message_id: '9223372036854775810' }, false),
  row('message_id "9300000000000000000"', { ...message, message_id: '9300000000000000000' }, false),
  row('message_id of 19 digits with a leading zero', { ...message, message_id: '0999999999999999999' }, true),
  row('message_id of 20 digits with leading zeros', { ...message, message_id: '00000000000000000001' }, false),
  row('message_id ""', { ...message, message_id: '' }, false),
  row('message_id "abc"', { ...message, message_id: 'abc' }, false),
  row('message_id "1.0"', { ...message, message_id: '1.0' }, false),
  row('message_id "+1"', { ...message, message_id: '+1' }, false),
  row('message_id " 1"', { ...message, message_id: ' 1' }, false),
  row('message_id "1\\n"', { ...message, message_id: '1\n' }, false),
  row('message_id 1.5', { ...message, message_id: 1.5 }, false),
  row('message_id true', { ...message, message_id: true }, false),
  row('message_id {}', { ...message, message_id: {} }, false),

  // --- message_seq 1..2^53-1, timestamp and expire 0..2^53-1
  row('message_seq 2^53-1', { ...message, message_seq: MAX_SEQ }, true),
  row('message_seq 2^53', { ...message, message_seq: 2 ** 53 }, false),
  row('message_seq 2^53+1 as a bare integer', JSON.stringify(message).replace('"message_seq":1', '"message_seq":9007199254740993'), false),
  row('message_seq 0', { ...message, message_seq: 0 }, false),
  row('message_seq -1', { ...message, message_seq: -1 }, false),
  row('message_seq 1.5', { ...message, message_seq: 1.5 }, false),
  row('message_seq "1"', { ...message, message_seq: '1' }, false),
  row('message_seq written 1.0', JSON.stringify(message).replace('"message_seq":1', '"message_seq":1.0'), true),
  row('timestamp 0', { ...message, timestamp: 0 }, true),
  row('timestamp written -0', JSON.stringify(message).replace('"timestamp":1700000000', '"timestamp":-0'), true),
  row('timestamp written 1.7e9', JSON.stringify(message).replace('"timestamp":1700000000', '"timestamp":1.7e9'), true),
  row('timestamp 2^53-1', { ...message, timestamp: MAX_SEQ }, true),
  row('timestamp 2^53', { ...message, timestamp: 2 ** 53 }, false),
  row('timestamp -1', { ...message, timestamp: -1 }, false),
  row('timestamp 1.5', { ...message, timestamp: 1.5 }, false),
  row('timestamp "1700000000"', { ...message, timestamp: '1700000000' }, false),
  row('expire 2^53-1', { ...message, expire: MAX_SEQ }, true),
  row('expire 2^53', { ...message, expire: 2 ** 53 }, false),
  row('expire -1', { ...message, expire: -1 }, false),
  row('expire null', { ...message, expire: null }, true),

  // --- channel_type 1..255
  row('channel_type 255', { ...group, channel_type: 255 }, true),
  row('channel_type 256', { ...message, channel_type: 256 }, false),
  row('channel_type 0', { ...message, channel_type: 0 }, false),
  row('channel_type 1.5', { ...message, channel_type: 1.5 }, false),
  row('channel_type "2"', { ...message, channel_type: '2' }, false),

  // --- payload: base64, may be empty
  row('payload ""', { ...message, payload: '' }, true),
  row('payload with one pad', { ...message, payload: 'aGVsbG8=' }, true),
  row('payload with two pads', { ...message, payload: 'aGVsbA==' }, true),
  row('payload with + and /', { ...message, payload: 'ab+/cd+/' }, true),
  row('payload not base64', { ...message, payload: 'not base64!' }, false),
  row('payload of a bad length', { ...message, payload: 'aGk' }, false),
  row('payload with padding inside', { ...message, payload: 'aG=k' }, false),
  row('payload with three pads', { ...message, payload: 'aG===' }, false),
  row('payload base64url', { ...message, payload: 'ab-_' }, false),
  row('payload with a trailing newline', { ...message, payload: 'aGk=\n' }, false),
  row('payload a number', { ...message, payload: 5 }, false),

  // --- header flags 0/1, other optional fields
  row('every optional field', { ...group, client_msg_no: 'c-1', header: { no_persist: 1, red_dot: 1, sync_once: 1 }, setting: 255, expire: 60, topic: 't', subscribers: ['x'] }, true),
  row('optional fields null', { ...message, client_msg_no: null, header: null, setting: null, expire: null, topic: null, subscribers: null }, true),
  row('header {}', { ...message, header: {} }, true),
  row('header flags null, unknown flags', { ...message, header: { red_dot: null, other: 7 } }, true),
  row('header flag 2', { ...message, header: { no_persist: 2 } }, false),
  row('header flag -1', { ...message, header: { red_dot: -1 } }, false),
  row('header flag true', { ...message, header: { sync_once: true } }, false),
  row('header flag "1"', { ...message, header: { red_dot: '1' } }, false),
  row('header flag 0.5', { ...message, header: { red_dot: 0.5 } }, false),
  row('header 1', { ...message, header: 1 }, false),
  row('header []', { ...message, header: [] }, false),
  row('header "x"', { ...message, header: 'x' }, false),
  row('setting 0', { ...message, setting: 0 }, true),
  row('setting 256', { ...message, setting: 256 }, false),
  row('setting -1', { ...message, setting: -1 }, false),
  row('setting "1"', { ...message, setting: '1' }, false),
  row('client_msg_no ""', { ...message, client_msg_no: '' }, true),
  row('client_msg_no 1', { ...message, client_msg_no: 1 }, false),
  row('topic {}', { ...message, topic: {} }, false),
  row('topic false', { ...message, topic: false }, false),

  // --- ids: 1..128 code points, any character
  row('ids with @ : | { spaces and CJK', { ...message, from_uid: 'a@b:c|{ 用户', channel_id: '用户 @:|{' }, true),
  row('from_uid of 128 characters', { ...message, from_uid: 'a'.repeat(128) }, true),
  row('from_uid of 129 characters', { ...message, from_uid: 'a'.repeat(129) }, false),
  row('channel_id of 128 CJK characters', { ...message, channel_id: '字'.repeat(128) }, true),
  row('channel_id of 129 CJK characters', { ...message, channel_id: '字'.repeat(129) }, false),
  row('from_uid of 128 emoji (256 UTF-16 units, 128 code points)', { ...message, from_uid: emoji.repeat(128) }, true),
  row('from_uid of 129 emoji', { ...message, from_uid: emoji.repeat(129) }, false),
  row('from_uid ""', { ...message, from_uid: '' }, false),
  row('from_uid with NUL', { ...message, from_uid: 'a\u0000b' }, false),
  row('channel_id with an unpaired high surrogate', { ...message, channel_id: 'a\uD83D' }, false),
  row('channel_id with an unpaired low surrogate', { ...message, channel_id: '\uDE00a' }, false),
  row('channel_id with a reversed surrogate pair', { ...message, channel_id: '\uDE00\uD83D' }, false),
  row('channel_id with U+FFFF and U+E000', { ...message, channel_id: '\uFFFF\uE000' }, true),
  row('client_msg_no with NUL', { ...message, client_msg_no: '\u0000' }, false),
  row('topic with an unpaired surrogate', { ...message, topic: '\uD800' }, false),
  row('topic with an emoji', { ...message, topic: emoji }, true),
  row('a subscriber with NUL', { ...group, subscribers: ['x\u0000'] }, false),
  row('a conversation uid with an unpaired surrogate', { ...read, uid: '\uDBFF' }, false),
  row('channel_id 7', { ...message, channel_id: 7 }, false),

  // --- subscribers: uids, only on non-person channels
  row('subscribers on a group', { ...group, subscribers: ['x', 'y'] }, true),
  row('subscribers [] on a group', { ...group, subscribers: [] }, true),
  row('duplicate subscribers on a group', { ...group, subscribers: ['x', 'x'] }, true),
  row('subscribers on a person channel', { ...message, subscribers: ['x'] }, false),
  row('subscribers [] on a person channel', { ...message, subscribers: [] }, false),
  row('subscribers null on a person channel', { ...message, subscribers: null }, true),
  row('subscribers on an invalid channel_type', { ...message, channel_type: 0, subscribers: ['x'] }, false),
  row('subscribers "x"', { ...group, subscribers: 'x' }, false),
  row('an empty subscriber', { ...group, subscribers: ['x', ''] }, false),
  row('a subscriber of 129 characters', { ...group, subscribers: ['a'.repeat(129)] }, false),
  row('a null subscriber', { ...group, subscribers: [null] }, false),
  row('a numeric subscriber', { ...group, subscribers: [1] }, false),

  // --- subscribers_added / subscribers_removed
  row('subscribers_added', membership, true),
  row('subscribers_removed', { ...membership, type: 'subscribers_removed' }, true),
  row('subscribers_added with channel_type 255 and []', { ...membership, channel_type: 255, subscribers: [] }, true),
  row('subscribers_added on a person channel', { ...membership, channel_type: 1 }, false),
  row('subscribers_removed on a person channel', { ...membership, type: 'subscribers_removed', channel_type: 1 }, false),
  row('subscribers_added with channel_type 0', { ...membership, channel_type: 0 }, false),
  row('subscribers_added with channel_type 256', { ...membership, channel_type: 256 }, false),
  row('subscribers_added without subscribers', without(membership, 'subscribers'), false),
  row('subscribers_added with subscribers null', { ...membership, subscribers: null }, false),
  row('subscribers_added with a subscriber of 129 characters', { ...membership, subscribers: ['a'.repeat(129)] }, false),
  row('subscribers_added without channel_id', without(membership, 'channel_id'), false),
  row('subscribers_removed without channel_type', without({ ...membership, type: 'subscribers_removed' }, 'channel_type'), false),

  // --- conversation events
  row('conversation_read without read_to_seq', read, true),
  row('conversation_read with read_to_seq null', { ...read, read_to_seq: null }, true),
  row('conversation_read with read_to_seq 0', { ...read, read_to_seq: 0 }, true),
  row('conversation_read with read_to_seq 2^53-1', { ...read, read_to_seq: MAX_SEQ }, true),
  row('conversation_read with read_to_seq 2^53', { ...read, read_to_seq: 2 ** 53 }, false),
  row('conversation_read with read_to_seq -1', { ...read, read_to_seq: -1 }, false),
  row('conversation_read with read_to_seq "5"', { ...read, read_to_seq: '5' }, false),
  row('conversation_read on a group', { ...read, channel_type: 2 }, true),
  row('conversation_read without uid', without(read, 'uid'), false),
  row('conversation_read with uid ""', { ...read, uid: '' }, false),
  row('conversation_read with a uid of 129 characters', { ...read, uid: 'u'.repeat(129) }, false),
  row('conversation_unread_set', unreadSet, true),
  row('conversation_unread_set with unread 0', { ...unreadSet, unread: 0 }, true),
  row('conversation_unread_set with unread 2^53-1', { ...unreadSet, unread: MAX_SEQ }, true),
  row('conversation_unread_set with unread 2^53', { ...unreadSet, unread: 2 ** 53 }, false),
  row('conversation_unread_set without unread', without(unreadSet, 'unread'), false),
  row('conversation_unread_set with unread null', { ...unreadSet, unread: null }, false),
  row('conversation_unread_set with unread -1', { ...unreadSet, unread: -1 }, false),
  row('conversation_unread_set with unread 1.5', { ...unreadSet, unread: 1.5 }, false),
  row('conversation_deleted', deleted, true),
  row('conversation_deleted on channel_type 255', { ...deleted, channel_type: 255 }, true),
  row('conversation_deleted with channel_type 256', { ...deleted, channel_type: 256 }, false),
  row('conversation_deleted without channel_id', without(deleted, 'channel_id'), false),
  row('conversation_deleted with channel_id null', { ...deleted, channel_id: null }, false),
  row('conversation_deleted without channel_type', without(deleted, 'channel_type'), false),
];

/** Where a JSON Schema cannot follow validateEvent: kept few, explicit, and written in the document's description. */
const SCHEMA_CANNOT_TELL: { name: string; text: string; why: string }[] = [
  { name: 'message_id int64 max + 1 as a bare integer', text: messageWithId('9223372036854775808'), why: 'as a double it rounds to 2^63, the double nearest int64 max' },
  { name: 'message_id int64 min - 1 as a bare integer', text: messageWithId('-9223372036854775809'), why: 'as a double it rounds to -2^63' },
  { name: 'message_id in exponent form', text: messageWithId('1.2e18'), why: 'an exponent literal beyond 2^53 may already be rounded' },
  { name: 'message_id with a fraction of zero beyond 2^53', text: messageWithId('9007199254740993.0'), why: 'a fraction literal beyond 2^53 may already be rounded' },
];

const textOf = (event: unknown) => (typeof event === 'string' && event.startsWith('{') ? event : JSON.stringify(event));

describe('docs/asyncapi.yaml agrees with validateEvent', () => {
  it('has a table covering every field of every event type', () => {
    expect(ROWS.length).toBeGreaterThanOrEqual(40);
    const validTypes = new Set(ROWS.filter((r) => r.valid).map((r) => (JSON.parse(textOf(r.event)) as { type: string }).type));
    expect([...validTypes].sort()).toEqual([...EVENT_TYPES].sort());
  });

  it.each(ROWS)('$name: valid=$valid under both', ({ event, valid }) => {
    const text = textOf(event);
    expect({ validateEvent: validateEvent(parseExactJson(text)).ok, schema: schemaAccepts(JSON.parse(text)) }).toEqual({ validateEvent: valid, schema: valid });
  });

  it.each(SCHEMA_CANNOT_TELL)('$name: validateEvent rejects, a double-parsing schema validator cannot ($why)', ({ text }) => {
    expect(validateEvent(parseExactJson(text))).toEqual({ ok: false, reason: 'message_id: must be an int64 integer or decimal string' });
    expect(schemaAccepts(JSON.parse(text))).toBe(true);
  });

  it('documents that ids are counted in code points', () => {
    expect(doc.components.schemas.Id.description).toMatch(/128 code points/);
  });
});

describe('docs/asyncapi.yaml', () => {
  it('is AsyncAPI 3.0 with the events topic and the DLQ topic', () => {
    expect(doc.asyncapi).toBe('3.0.0');
    expect(doc.channels.imEvents.address).toBe('im.events');
    expect(doc.channels.imEvents.description).toContain('KAFKA_TOPIC');
    expect(doc.channels.deadLetters.address).toBe('im.events.dlq');
    expect(doc.channels.deadLetters.description).toContain('KAFKA_DLQ_TOPIC');
  });

  it('names one message per event type, each with a `type` constant', () => {
    const types = eventMessages.flatMap((m) => [m.payload.properties?.type?.const, ...(m.payload.allOf ?? []).map((s: Doc) => s.properties?.type?.const)]).filter(Boolean);
    expect(types).toEqual(EVENT_TYPES);
    expect(eventMessages.map((m) => m.name)).toEqual(EVENT_TYPES);
  });

  it('resolves every reference, and every operation sends or receives its channel’s messages', () => {
    expect(() => resolveRefs(doc)).not.toThrow();
    for (const operation of Object.values(doc.operations) as Doc[]) {
      const channel = operation.channel.$ref as string;
      for (const { $ref } of operation.messages as { $ref: string }[]) expect($ref.startsWith(`${channel}/messages/`)).toBe(true);
    }
  });

  it('has examples that validate under both', () => {
    const examples = eventMessages.flatMap((m) => (m.examples as Doc[]).map((example) => ({ message: m.name, payload: example.payload })));
    expect(new Set(examples.map((e) => e.message))).toEqual(new Set(EVENT_TYPES));
    for (const { payload } of examples) {
      expect({ payload, validateEvent: validateEvent(parseExactJson(JSON.stringify(payload))).ok, schema: schemaAccepts(payload) }).toEqual({ payload, validateEvent: true, schema: true });
    }
  });

  it('documents the DLQ headers, and its example reason is the one validateEvent gives', () => {
    const deadLetter = resolveRefs(doc.channels.deadLetters.messages.deadLetter);
    expect(deadLetter.headers.required).toEqual(['dlq-reason', 'dlq-source-topic', 'dlq-source-partition', 'dlq-source-offset']);
    const headerSchema = ajv.compile(deadLetter.headers);
    for (const example of deadLetter.examples as Doc[]) {
      expect(headerSchema(example.headers)).toBe(true);
      expect(validateEvent(example.payload)).toEqual({ ok: false, reason: example.headers['dlq-reason'] });
    }
  });

  it('gives key examples that are channelKeyOf results', () => {
    const keyExamples = doc.components.messageTraits.imEvent.bindings.kafka.key.examples;
    expect(keyExamples).toEqual([channelKeyOf(1, 'bob', 'alice'), channelKeyOf(2, 'anyone', 'team:42')]);
  });
});
