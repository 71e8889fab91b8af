import { PERSON_CHANNEL } from '../events';
import { wholeProjectionState, evolve, keptNewMessages } from './evolve';
import { deleted, groupMessage as G, GROUP, joined, personMessage as P, read, removed, unreadSet } from '../testing/events';
import { GivenEvent, given, versionAt as v } from '../testing/given-when-then';

/** recents as their seqs, newest first (toMatchObject also checks the length). */
const seqs = (...messageSeqs: number[]) => messageSeqs.map((message_seq) => ({ message_seq }));
const header = (flags: { no_persist?: 0 | 1; sync_once?: 0 | 1 }) => ({ header: { no_persist: 0, red_dot: 0, sync_once: 0, ...flags } as const });

interface Row {
  rule: string;
  given: GivenEvent[];
  /** uid → that user's full sync (partial conversations, in answer order). */
  then: Record<string, Record<string, unknown>[]>;
}

const rules: Row[] = [
  // --- delivery ---
  {
    rule: 'a person message is delivered to sender and recipient, channel_id as each sees it',
    given: [P('a', 'b', 1)],
    then: {
      a: [{ channel_id: 'b', channel_type: 1, last_msg_seq: 1, readed_to_msg_seq: 1, unread: 0, version: v(0), recents: [{ message_seq: 1, channel_id: 'b', from_uid: 'a' }] }],
      b: [{ channel_id: 'a', channel_type: 1, last_msg_seq: 1, readed_to_msg_seq: 0, unread: 1, version: v(0), recents: [{ message_seq: 1, channel_id: 'a', from_uid: 'a' }] }],
      c: [],
    },
  },
  {
    rule: 'a message with subscribers is delivered to exactly those uids, not to members or the sender',
    given: [joined('g', ['member', 's']), G('g', 's', 1, { subscribers: ['x', 'y'] })],
    then: {
      x: [{ channel_id: 'g', channel_type: GROUP, last_msg_seq: 1, unread: 1, version: v(1), recents: seqs(1) }],
      y: [{ channel_id: 'g', last_msg_seq: 1, unread: 1, recents: seqs(1) }],
      member: [],
      s: [],
    },
  },
  {
    rule: 'a group message is delivered to the members at the moment it is applied',
    given: [joined('g', ['a', 'b']), G('g', 'a', 1), joined('g', ['c']), G('g', 'b', 2)],
    then: {
      a: [{ channel_id: 'g', last_msg_seq: 2, readed_to_msg_seq: 1, unread: 1, version: v(3), recents: seqs(2, 1) }],
      b: [{ channel_id: 'g', last_msg_seq: 2, readed_to_msg_seq: 2, unread: 0, version: v(3), recents: seqs(2, 1) }],
      c: [{ channel_id: 'g', last_msg_seq: 2, readed_to_msg_seq: 1, unread: 1, version: v(3), recents: seqs(2) }],
      d: [],
    },
  },
  {
    rule: 'no_persist and sync_once messages change no conversation',
    given: [P('a', 'b', 1), P('a', 'b', 2, header({ no_persist: 1 })), P('b', 'a', 3, header({ sync_once: 1 })), joined('g', ['a']), G('g', 'b', 1, header({ sync_once: 1 }))],
    then: {
      a: [{ channel_id: 'b', last_msg_seq: 1, unread: 0, version: v(0), recents: seqs(1) }],
      b: [{ channel_id: 'a', last_msg_seq: 1, unread: 1, version: v(0), recents: seqs(1) }],
    },
  },
  {
    rule: 'a message without client_msg_no answers with its message id there, in the conversation and in recents',
    given: [P('a', 'b', 1, { client_msg_no: '', message_id: 9_223_372_036_854_775_807n }), joined('g', ['a']), G('g', 'b', 4, { client_msg_no: '', message_id: 42n })],
    then: {
      a: [
        { channel_id: 'g', last_client_msg_no: '42', recents: [{ client_msg_no: '42', message_idstr: '42' }] },
        { channel_id: 'b', last_client_msg_no: '9223372036854775807', recents: [{ client_msg_no: '9223372036854775807' }] },
      ],
    },
  },
  // --- duplicates and order ---
  {
    rule: "a second event with a channel's existing seq is ignored: the first wins, no version change",
    given: [P('a', 'b', 1, { client_msg_no: 'first' }), P('b', 'a', 1, { client_msg_no: 'second', timestamp: 9 })],
    then: {
      a: [{ last_msg_seq: 1, last_client_msg_no: 'first', unread: 0, version: v(0), recents: [{ message_seq: 1, client_msg_no: 'first', from_uid: 'a' }] }],
      b: [{ last_msg_seq: 1, last_client_msg_no: 'first', unread: 1, version: v(0), recents: seqs(1) }],
    },
  },
  {
    rule: 'a late arrival is stored and in recents, the latest stays the latest (person)',
    given: [P('a', 'b', 1), P('a', 'b', 3), P('a', 'b', 2)],
    then: { b: [{ last_msg_seq: 3, last_client_msg_no: 'm3', timestamp: 1_700_000_003, unread: 3, version: v(2), recents: seqs(3, 2, 1) }] },
  },
  {
    rule: 'a late arrival is stored and in recents, the latest stays the latest (group)',
    given: [joined('g', ['a', 'b']), G('g', 'a', 3), G('g', 'a', 2)],
    then: { b: [{ last_msg_seq: 3, last_client_msg_no: 'm3', unread: 3, version: v(2), recents: seqs(3, 2) }] },
  },
  // --- visibility floor ---
  {
    rule: 'joining sets the floor: no history, no unread, no conversation yet',
    given: [joined('g', ['a']), G('g', 'a', 1), G('g', 'a', 2), joined('g', ['b'])],
    then: { b: [], a: [{ last_msg_seq: 2, recents: seqs(2, 1) }] },
  },
  {
    rule: 'after joining, only later messages are visible and unread',
    given: [joined('g', ['a']), G('g', 'a', 1), G('g', 'a', 2), joined('g', ['b']), G('g', 'a', 3)],
    then: { b: [{ last_msg_seq: 3, readed_to_msg_seq: 2, unread: 1, version: v(4), recents: seqs(3) }] },
  },
  {
    rule: 'adding a current member again changes nothing (floor and version stay)',
    given: [joined('g', ['a', 'b']), G('g', 'a', 1), joined('g', ['b'])],
    then: { b: [{ last_msg_seq: 1, unread: 1, version: v(1), recents: seqs(1) }] },
  },
  {
    rule: 'after removal the user keeps the conversation as it was and receives nothing new',
    given: [joined('g', ['a', 'b']), G('g', 'a', 1), removed('g', ['b']), G('g', 'a', 2), G('g', 'a', 3)],
    then: {
      // The version moves to the removal's (see applySubscribersRemoved): the conversation is sent once more, unchanged.
      b: [{ last_msg_seq: 1, unread: 1, version: v(2), recents: seqs(1) }],
      a: [{ last_msg_seq: 3, version: v(4), recents: seqs(3, 2, 1) }],
    },
  },
  {
    rule: 'after removal a late arrival is not delivered to the removed user',
    given: [joined('g', ['a', 'b']), G('g', 'a', 2), removed('g', ['b']), G('g', 'a', 1)],
    then: { b: [{ last_msg_seq: 2, version: v(2), recents: seqs(2) }], a: [{ last_msg_seq: 2, version: v(3), recents: seqs(2, 1) }] },
  },
  {
    rule: 'a re-join moves the floor up: earlier messages disappear',
    given: [joined('g', ['a', 'b']), G('g', 'a', 1), removed('g', ['b']), G('g', 'a', 2), joined('g', ['b'])],
    then: { b: [] },
  },
  {
    rule: 'after a re-join only messages after it are visible',
    given: [joined('g', ['a', 'b']), G('g', 'a', 1), removed('g', ['b']), G('g', 'a', 2), joined('g', ['b']), G('g', 'a', 3)],
    then: { b: [{ last_msg_seq: 3, readed_to_msg_seq: 2, unread: 1, version: v(5), recents: seqs(3) }] },
  },
  {
    rule: 'delete hides a person conversation from full syncs, for the deleting user only',
    given: [P('a', 'b', 1), P('a', 'b', 2), deleted('b', 'a', PERSON_CHANNEL)],
    then: { b: [], a: [{ last_msg_seq: 2, version: v(1), recents: seqs(2, 1) }] },
  },
  {
    rule: 'after delete a new message brings the conversation back with only the new messages',
    given: [P('a', 'b', 1), P('a', 'b', 2), deleted('b', 'a', PERSON_CHANNEL), P('a', 'b', 3)],
    then: { b: [{ channel_id: 'a', last_msg_seq: 3, readed_to_msg_seq: 2, unread: 1, version: v(3), recents: seqs(3) }] },
  },
  {
    rule: 'delete of a group conversation, then a new group message shows only it',
    given: [joined('g', ['a', 'b']), G('g', 'a', 1), deleted('b', 'g', GROUP), G('g', 'a', 2)],
    then: { b: [{ last_msg_seq: 2, readed_to_msg_seq: 1, unread: 1, recents: seqs(2) }], a: [{ recents: seqs(2, 1) }] },
  },
  // --- read position ---
  {
    rule: 'read without read_to_seq reads up to the latest delivered message',
    given: [P('a', 'b', 1), P('a', 'b', 2), read('b', 'a', PERSON_CHANNEL)],
    then: { b: [{ last_msg_seq: 2, readed_to_msg_seq: 2, unread: 0, version: v(2) }] },
  },
  {
    rule: 'read with read_to_seq reads up to it',
    given: [P('a', 'b', 1), P('a', 'b', 2), read('b', 'a', PERSON_CHANNEL, 1)],
    then: { b: [{ last_msg_seq: 2, readed_to_msg_seq: 1, unread: 1, version: v(2) }] },
  },
  {
    rule: 'read_to_seq beyond the latest delivered seq is capped at it (later messages stay unread)',
    given: [P('a', 'b', 1), P('a', 'b', 2), read('b', 'a', PERSON_CHANNEL, 99), P('a', 'b', 3)],
    then: { b: [{ last_msg_seq: 3, readed_to_msg_seq: 2, unread: 1, version: v(3) }] },
  },
  {
    rule: 'read never moves backwards, and a read that changes nothing keeps the version',
    given: [P('a', 'b', 1), P('a', 'b', 2), read('b', 'a', PERSON_CHANNEL, 2), read('b', 'a', PERSON_CHANNEL, 1)],
    then: { b: [{ readed_to_msg_seq: 2, unread: 0, version: v(2) }] },
  },
  {
    rule: 'read of a group conversation changes only that user',
    given: [joined('g', ['a', 'b', 'c']), G('g', 'a', 1), read('b', 'g', GROUP)],
    then: { b: [{ unread: 0, version: v(2) }], c: [{ unread: 1, version: v(1) }] },
  },
  {
    rule: 'a conversation event for a conversation the user never had changes nothing',
    given: [P('a', 'b', 1), read('c', 'a', PERSON_CHANNEL), unreadSet('c', 'b', PERSON_CHANNEL, 1), deleted('c', 'a', PERSON_CHANNEL)],
    then: { c: [], b: [{ unread: 1, version: v(0) }] },
  },
  // --- unread set ---
  {
    rule: 'unread_set marks as unread: read moves backwards to last_msg_seq - unread',
    given: [P('a', 'b', 1), P('a', 'b', 2), P('a', 'b', 3), read('b', 'a', PERSON_CHANNEL), unreadSet('b', 'a', PERSON_CHANNEL, 2)],
    then: { b: [{ last_msg_seq: 3, readed_to_msg_seq: 1, unread: 2, version: v(4) }] },
  },
  {
    rule: 'unread_set 0 reads everything',
    given: [P('a', 'b', 1), P('a', 'b', 2), unreadSet('b', 'a', PERSON_CHANNEL, 0)],
    then: { b: [{ readed_to_msg_seq: 2, unread: 0, version: v(2) }] },
  },
  {
    rule: 'unread_set never moves read below the floor',
    given: [joined('g', ['a']), G('g', 'a', 1), G('g', 'a', 2), joined('g', ['b']), G('g', 'a', 3), unreadSet('b', 'g', GROUP, 10)],
    then: { b: [{ last_msg_seq: 3, readed_to_msg_seq: 2, unread: 1, version: v(5) }] },
  },
  // --- unread ignores own messages ---
  {
    rule: 'a conversation whose latest message the user sent has unread 0',
    given: [P('b', 'a', 1), P('b', 'a', 2), P('a', 'b', 3)],
    then: { a: [{ last_msg_seq: 3, readed_to_msg_seq: 3, unread: 0 }], b: [{ last_msg_seq: 3, readed_to_msg_seq: 2, unread: 1 }] },
  },
  {
    rule: "own messages never count: readed_to_msg_seq = min(last, max(read, own, floor))",
    given: [P('b', 'a', 1), P('a', 'b', 2), P('b', 'a', 3), P('b', 'a', 4)],
    then: { a: [{ last_msg_seq: 4, readed_to_msg_seq: 2, unread: 2 }] },
  },
  {
    rule: "mark as unread cannot go below the user's own latest message",
    given: [P('b', 'a', 1), P('b', 'a', 2), P('a', 'b', 3), P('b', 'a', 4), unreadSet('a', 'b', PERSON_CHANNEL, 4)],
    then: { a: [{ last_msg_seq: 4, readed_to_msg_seq: 3, unread: 1, version: v(4) }] },
  },
  {
    rule: 'a removed member who still sends keeps the conversation as it was (unread unchanged)',
    given: [joined('g', ['a', 'b']), G('g', 'a', 1), G('g', 'a', 2), removed('g', ['b']), G('g', 'b', 3)],
    then: { b: [{ last_msg_seq: 2, readed_to_msg_seq: 0, unread: 2, version: v(3), recents: seqs(2, 1) }] },
  },
  {
    rule: "a message to explicit subscribers that leaves out its sender does not mark the sender's conversation read",
    given: [joined('g', ['a', 'b']), G('g', 'a', 1), G('g', 'b', 2, { subscribers: ['c'] })],
    then: { b: [{ last_msg_seq: 1, readed_to_msg_seq: 0, unread: 1, version: v(1) }], c: [{ last_msg_seq: 2, unread: 2 }] },
  },
  {
    rule: 'own group messages never count',
    given: [joined('g', ['a', 'b']), G('g', 'b', 1), G('g', 'a', 2), G('g', 'b', 3)],
    then: { a: [{ last_msg_seq: 3, readed_to_msg_seq: 2, unread: 1, version: v(3) }] },
  },
  // --- versions ---
  {
    rule: 'versions are the given ones, exactly, even beyond 2^53',
    given: [{ event: P('a', 'b', 1), version: 9_223_372_036_854_775_000n }, { event: read('b', 'a', PERSON_CHANNEL), version: 9_223_372_036_854_775_807n }],
    then: { a: [{ version: 9_223_372_036_854_775_000n }], b: [{ version: 9_223_372_036_854_775_807n }] },
  },
  // --- ids ---
  {
    rule: 'person pairs whose naive "a@b" joins collide stay separate (x@y+z versus x+y@z, same seq)',
    given: [P('x@y', 'z', 1), P('x', 'y@z', 1)],
    then: {
      z: [{ channel_id: 'x@y', last_msg_seq: 1, unread: 1 }],
      'x@y': [{ channel_id: 'z', last_msg_seq: 1, unread: 0 }],
      x: [{ channel_id: 'y@z', last_msg_seq: 1, unread: 0, version: v(1) }],
      'y@z': [{ channel_id: 'x', last_msg_seq: 1, unread: 1, version: v(1) }],
    },
  },
  {
    rule: 'the same channel id with another channel type is another channel',
    given: [joined('g', ['a']), joined('g', ['a'], 3), G('g', 'b', 1), G('g', 'b', 1, { channel_type: 3 }), P('g', 'a', 1)],
    then: { a: [{ channel_id: 'g', channel_type: 1 }, { channel_id: 'g', channel_type: 3 }, { channel_id: 'g', channel_type: GROUP }] },
  },
  {
    rule: 'ids with @ : | { " \\ spaces and CJK work everywhere',
    given: [
      joined('团队:1|{x} "q"\\', ['用户 一', 'u@x:y|z{']),
      G('团队:1|{x} "q"\\', 'u@x:y|z{', 1),
      P('用户 一', 'u@x:y|z{', 1, { timestamp: 1_700_000_002 }),
      read('用户 一', '团队:1|{x} "q"\\', GROUP),
    ],
    then: {
      '用户 一': [
        { channel_id: 'u@x:y|z{', channel_type: 1, unread: 0, recents: [{ message_seq: 1, channel_id: 'u@x:y|z{', from_uid: '用户 一' }] },
        { channel_id: '团队:1|{x} "q"\\', channel_type: GROUP, unread: 0, version: v(3), recents: [{ message_seq: 1, channel_id: '团队:1|{x} "q"\\', from_uid: 'u@x:y|z{' }] },
      ],
      'u@x:y|z{': [
        { channel_id: '用户 一', channel_type: 1, unread: 1 },
        { channel_id: '团队:1|{x} "q"\\', unread: 0, version: v(1) },
      ],
    },
  },
];

describe('evolve: the sync contract rules', () => {
  it.each(rules)('$rule', ({ given: events, then }) => {
    const world = given(events);
    for (const [uid, expected] of Object.entries(then)) {
      expect({ uid, answer: world.sync(uid) }).toMatchObject({ uid, answer: expected });
    }
  });
});

describe('evolve: records', () => {
  it.each([
    { rule: 'a no_persist message', event: P('a', 'b', 1, header({ no_persist: 1 })) },
    { rule: 'a sync_once group message', event: G('g', 'a', 1, header({ sync_once: 1 })) },
    { rule: 'read of an unknown conversation', event: read('a', 'b', PERSON_CHANNEL) },
    { rule: 'unread_set of an unknown conversation', event: unreadSet('a', 'b', PERSON_CHANNEL, 3) },
    { rule: 'delete of an unknown conversation', event: deleted('a', 'g', GROUP) },
    { rule: 'removal of a non-member', event: removed('g', ['a']) },
  ])('$rule changes no state', ({ event }) => {
    const { state } = given([event]);
    expect(state.newMessages).toEqual([]);
    expect([...state.conversations.keys()]).toEqual([]);
    expect([...state.changedConversations]).toEqual([]);
  });

  it('unread_set stores read = max(floor, last_msg_seq - unread), never below the floor', () => {
    const { state } = given([joined('g', ['a']), G('g', 'a', 1), G('g', 'a', 2), joined('g', ['b']), G('g', 'a', 3), unreadSet('b', 'g', GROUP, 10)]);
    const b = [...state.conversations.values()].find((conversation) => conversation.uid === 'b');
    expect(b).toMatchObject({ floor: 2, readSeq: 2, version: v(5) });
  });

  it('a duplicate seq stores nothing more and marks no record changed', () => {
    const { state } = given([P('a', 'b', 1)]);
    // Records are replaced, never mutated, so shallow copies keep the old ones.
    const before = { channels: new Map(state.channels), conversations: new Map(state.conversations) };
    state.changedChannels.clear();
    state.changedConversations.clear();
    evolve(state, P('b', 'a', 1, { client_msg_no: 'other' }), v(1));
    expect(state.newMessages.map((message) => message.clientMsgNo)).toEqual(['m1']);
    expect([...state.changedChannels, ...state.changedConversations]).toEqual([]);
    expect({ channels: state.channels, conversations: state.conversations }).toEqual(before);
  });
});

/** Seqs from `first` to `last`, newest first. */
const range = (first: number, last: number) => Array.from({ length: last - first + 1 }, (_, i) => last - i);
const KEPT = 50;

interface RetentionRow extends Row {
  /** What each store keeps: `channel` or `channel uid` (a recipient's window) -> seqs kept, newest first. */
  kept?: Record<string, number[]>;
}

const retention: RetentionRow[] = [
  {
    rule: 'a group channel keeps its newest RECENT_MESSAGES_KEPT member-delivered messages; syncs still get the newest 50',
    given: [joined('g', ['a', 'b']), ...range(1, 70).reverse().map((seq) => G('g', 'a', seq))],
    then: { b: [{ last_msg_seq: 70, unread: 70, recents: seqs(...range(21, 70)) }] },
    kept: { g: range(21, 70) },
  },
  {
    rule: 'a person channel keeps its newest messages once, for both people',
    given: range(1, 60).reverse().map((seq) => P(seq % 2 ? 'a' : 'b', seq % 2 ? 'b' : 'a', seq)),
    then: { a: [{ last_msg_seq: 60, recents: seqs(...range(11, 60)) }], b: [{ last_msg_seq: 60, recents: seqs(...range(11, 60)) }] },
    kept: { 'a,b': range(11, 60) },
  },
  {
    rule: "explicit messages are kept per recipient, so member traffic never pushes out a recipient's own",
    given: [
      joined('g', ['a', 'x']),
      G('g', 'a', 1, { subscribers: ['x'] }),
      G('g', 'a', 2, { subscribers: ['y', 'x'] }),
      ...range(3, 80).reverse().map((seq) => G('g', 'a', seq)),
    ],
    then: {
      y: [{ last_msg_seq: 2, recents: seqs(2) }],
      x: [{ last_msg_seq: 80, recents: seqs(...range(31, 80)) }],
      a: [{ last_msg_seq: 80, recents: seqs(...range(31, 80)) }],
    },
    kept: { g: range(31, 80), 'g x': [2, 1], 'g y': [2] },
  },
  {
    rule: "a user's recents merge both windows: explicit and member-delivered messages, newest first",
    given: [
      joined('g', ['x']),
      ...range(1, 120).reverse().map((seq) => G('g', 'a', seq, seq % 3 === 0 ? { subscribers: ['x'] } : {})),
    ],
    then: { x: [{ last_msg_seq: 120, recents: seqs(...range(71, 120)) }] },
    kept: { g: range(1, 120).filter((seq) => seq % 3 !== 0).slice(0, KEPT), 'g x': range(1, 120).filter((seq) => seq % 3 === 0) },
  },
  {
    rule: 'a late arrival older than the kept window is dropped (no recents, head or version change), and so is its seq after it',
    given: [joined('g', ['a', 'b']), ...range(2, 51).reverse().map((seq) => G('g', 'a', seq)), G('g', 'b', 1), G('g', 'b', 1, { subscribers: ['z'] })],
    then: { b: [{ last_msg_seq: 51, readed_to_msg_seq: 0, version: v(50), recents: seqs(...range(2, 51)) }], z: [] },
    kept: { g: range(2, 51) },
  },
  {
    rule: 'a late arrival inside the kept window is kept and lets the oldest go',
    given: [joined('g', ['a', 'b']), ...range(1, 51).filter((seq) => seq !== 30).map((seq) => G('g', 'a', seq)), G('g', 'a', 30)],
    then: { b: [{ last_msg_seq: 51, version: v(51), recents: seqs(...range(2, 51)) }] },
    kept: { g: range(2, 51) },
  },
  {
    rule: 'a duplicate of a message already let go of is dropped, even addressed to someone else',
    given: [joined('g', ['a']), ...range(1, 51).reverse().map((seq) => G('g', 'a', seq)), G('g', 'a', 1, { subscribers: ['z'] }), P('a', 'b', 1)],
    then: { z: [], a: [{ channel_id: 'g', last_msg_seq: 51, version: v(51), recents: seqs(...range(2, 51)) }, { channel_id: 'b' }] },
    kept: { g: range(2, 51), 'a,b': [1] },
  },
  {
    rule: 'a removed member keeps head and unread, but recents only while the channel window still holds them',
    given: [joined('g', ['a', 'b']), G('g', 'a', 1), G('g', 'a', 2), removed('g', ['b']), ...range(3, 51).map((seq) => G('g', 'a', seq))],
    then: { b: [{ last_msg_seq: 2, unread: 2, version: v(3), recents: seqs(2) }] },
    kept: { g: range(2, 51) },
  },
];

/** `g` for group g's window, `g x` for x's window in g, `a,b` for the person channel of a and b. */
function windowName(channelKey: string, lane: string | null): string {
  const [type, ...ids] = JSON.parse(channelKey) as [number, ...string[]];
  const channel = type === PERSON_CHANNEL ? ids.join(',') : ids[0];
  return lane === null ? channel : `${channel} ${lane}`;
}

describe('evolve: retention (RECENT_MESSAGES_KEPT = 50)', () => {
  it.each(retention)('$rule', ({ given: events, then, kept }) => {
    const world = given(events, KEPT);
    for (const [uid, expected] of Object.entries(then)) {
      expect({ uid, answer: world.sync(uid) }).toMatchObject({ uid, answer: expected });
    }
    const stored: Record<string, number[]> = {};
    for (const message of keptNewMessages(world.state)) {
      (stored[windowName(message.channelKey, message.lane)] ??= []).push(message.seq);
    }
    for (const list of Object.values(stored)) list.sort((x, y) => y - x);
    expect(stored).toEqual(kept);
    for (const window of world.state.windows.values()) expect(window.keptSeqs.length).toBeLessThanOrEqual(KEPT);
  });

  it('a recipient copy names only its recipient, so fan-out stays one small copy per window', () => {
    const { state } = given([G('g', 'a', 1, { subscribers: ['x', 'y', 'x'] })], KEPT);
    expect(keptNewMessages(state).map((m) => [m.lane, m.recipients])).toEqual([
      ['x', ['x']],
      ['y', ['y']],
    ]);
  });

  it('windows migrated with more than the setting shrink to it on the next message', () => {
    const state = wholeProjectionState(KEPT);
    const key = '[2,"g"]';
    state.windows.set(key, { channelKey: key, lane: null, keptSeqs: range(1, 100).reverse(), droppedUpTo: 0 });
    evolve(state, G('g', 'a', 101), v(0));
    expect(state.windows.get(key)).toEqual({ channelKey: key, lane: null, keptSeqs: range(52, 101).reverse(), droppedUpTo: 51 });
    expect([...state.trimmedWindows]).toEqual([key]);
  });
});
