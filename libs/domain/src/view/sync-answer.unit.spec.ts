import { PERSON_CHANNEL } from '../events';
import { deleted, groupMessage as G, GROUP, joined, personMessage as P, read, removed, unreadSet } from '../testing/events';
import { GivenEvent, SyncOptions, given, syncQuery, versionAt as v } from '../testing/given-when-then';
import { viewConversation } from './conversation-view';
import { clampedEntries, pickRecents, selectConversations } from './sync-answer';
import { lastMsgSeqKey } from './sync-request';

const seqs = (...messageSeqs: number[]) => messageSeqs.map((message_seq) => ({ message_seq }));
const ids = (...channelIds: string[]) => channelIds.map((channel_id) => ({ channel_id }));
const lastSeqs = (...entries: [channelId: string, channelType: number, seq: number][]) =>
  new Map(entries.map(([channelId, channelType, seq]) => [lastMsgSeqKey(channelId, channelType), seq]));
const at = (timestamp: number) => ({ timestamp });

/** Two person conversations of u with the same timestamp: a (version v0), b (version v1). */
const twoConversations: GivenEvent[] = [P('a', 'u', 1), P('b', 'u', 1)];
/** As above, then u deletes a (version v2). */
const aDeleted: GivenEvent[] = [...twoConversations, deleted('u', 'a', PERSON_CHANNEL)];
const threeMessagesFromA: GivenEvent[] = [P('a', 'u', 1), P('a', 'u', 2), P('a', 'u', 3), P('b', 'u', 1, at(1))];
const threeChannelTypes: GivenEvent[] = [
  P('a', 'u', 1, at(3)),
  joined('g', ['u']),
  G('g', 'x', 1, at(2)),
  G('h', 'x', 1, { channel_type: 3, subscribers: ['u'], timestamp: 1 }),
];
const fiveConversations: GivenEvent[] = [1, 2, 3, 4, 5].map((n) => P(`c${n}`, 'u', 1, at(n)));

interface Row {
  filter: string;
  given: GivenEvent[];
  query: SyncOptions;
  /** u's answer, partial conversations in answer order. */
  then: Record<string, unknown>[];
}

const filters: Row[] = [
  // --- version ---
  { filter: 'version 0 is a full sync', given: twoConversations, query: { version: 0n }, then: ids('b', 'a') },
  { filter: 'version V returns only versions greater than V', given: twoConversations, query: { version: v(0) }, then: [{ channel_id: 'b', version: v(1) }] },
  { filter: 'version V-1 returns the conversation at V', given: twoConversations, query: { version: v(1) - 1n }, then: ids('b') },
  { filter: 'version = the highest version returns nothing', given: twoConversations, query: { version: v(1) }, then: [] },
  { filter: 'version below every version returns all', given: twoConversations, query: { version: v(0) - 1n }, then: ids('b', 'a') },
  // --- tombstones ---
  { filter: 'a deleted conversation is not in a full sync', given: aDeleted, query: {}, then: ids('b') },
  { filter: 'a deletion after V is a tombstone, placed last', given: aDeleted, query: { version: v(0), includeDeleted: true }, then: [{ channel_id: 'b', version: v(1) }, { channel_id: 'a', deleted: 1, version: v(2) }] },
  { filter: 'a deletion at or before V is not reported', given: aDeleted, query: { version: v(2), includeDeleted: true }, then: [] },
  { filter: 'a tombstone ignores last_msg_seqs', given: aDeleted, query: { version: v(1), includeDeleted: true, lastMsgSeqs: lastSeqs(['a', PERSON_CHANNEL, 9]) }, then: [{ channel_id: 'a', deleted: 1 }] },
  { filter: 'a tombstone is left out by exclude_channel_types', given: aDeleted, query: { version: v(1), includeDeleted: true, excludeChannelTypes: new Set([PERSON_CHANNEL]) }, then: [] },
  { filter: 'a tombstone is left out by only_unread (it has no unread)', given: aDeleted, query: { version: v(1), includeDeleted: true, onlyUnread: true }, then: [] },
  {
    filter: 'after delete and a new message, an incremental sync gets the conversation back with only the new message',
    given: [...aDeleted, P('a', 'u', 2)],
    query: { version: v(2) },
    then: [{ channel_id: 'a', last_msg_seq: 2, unread: 1, version: v(3), recents: seqs(2) }],
  },
  {
    filter: 'a re-join that hides history is a tombstone',
    given: [joined('g', ['u', 'x']), G('g', 'x', 1), removed('g', ['u']), G('g', 'x', 2), joined('g', ['u'])],
    query: { version: v(3), includeDeleted: true },
    then: [{ channel_id: 'g', channel_type: GROUP, deleted: 1, version: v(4) }],
  },
  { filter: 'without include_deleted a deletion after V is not reported at all', given: aDeleted, query: { version: v(0) }, then: [{ channel_id: 'b', version: v(1) }] },
  { filter: 'without include_deleted every entry is a whole conversation', given: aDeleted, query: { version: v(1) }, then: [] },
  {
    filter: 'without include_deleted a re-join that hides history is not reported',
    given: [joined('g', ['u', 'x']), G('g', 'x', 1), removed('g', ['u']), G('g', 'x', 2), joined('g', ['u'])],
    query: { version: v(3) },
    then: [],
  },
  // --- last_msg_seqs ---
  { filter: 'last_msg_seqs S = last_msg_seq leaves the conversation out', given: threeMessagesFromA, query: { lastMsgSeqs: lastSeqs(['a', 1, 3]) }, then: ids('b') },
  { filter: 'last_msg_seqs S > last_msg_seq leaves the conversation out', given: threeMessagesFromA, query: { lastMsgSeqs: lastSeqs(['a', 1, 4]) }, then: ids('b') },
  { filter: 'last_msg_seqs S < last_msg_seq: recents only above S', given: threeMessagesFromA, query: { lastMsgSeqs: lastSeqs(['a', 1, 1]) }, then: [{ channel_id: 'a', recents: seqs(3, 2) }, { channel_id: 'b', recents: seqs(1) }] },
  { filter: 'last_msg_seqs S = 0: all recents', given: threeMessagesFromA, query: { lastMsgSeqs: lastSeqs(['a', 1, 0]) }, then: [{ channel_id: 'a', recents: seqs(3, 2, 1) }, ids('b')[0]] },
  { filter: 'last_msg_seqs of another channel type does not apply', given: threeMessagesFromA, query: { lastMsgSeqs: lastSeqs(['a', GROUP, 3]) }, then: ids('a', 'b') },
  { filter: 'recents never go below the floor, whatever S', given: [...threeMessagesFromA, deleted('u', 'a', 1), P('a', 'u', 4)], query: { lastMsgSeqs: lastSeqs(['a', 1, 1]) }, then: [{ channel_id: 'a', recents: seqs(4) }, ids('b')[0]] },
  { filter: 'version > 0: a read after V comes back although last_msg_seqs says the client has the latest message, with no recents', given: [...threeMessagesFromA, read('u', 'a', 1, 2)], query: { version: v(3), lastMsgSeqs: lastSeqs(['a', 1, 3]) }, then: [{ channel_id: 'a', unread: 1, readed_to_msg_seq: 2, version: v(4), recents: [] }] },
  { filter: 'version > 0: an unread set after V comes back with recents only above the client seq', given: [...threeMessagesFromA, read('u', 'a', 1), unreadSet('u', 'a', 1, 2)], query: { version: v(4), lastMsgSeqs: lastSeqs(['a', 1, 2]) }, then: [{ channel_id: 'a', unread: 2, recents: seqs(3) }] },
  { filter: 'version > 0: a conversation at or below V stays out whatever last_msg_seqs says', given: threeMessagesFromA, query: { version: v(3), lastMsgSeqs: lastSeqs(['a', 1, 0]) }, then: [] },
  // --- only_unread ---
  { filter: 'only_unread keeps only unread > 0', given: [P('a', 'u', 1), P('u', 'b', 1)], query: { onlyUnread: true }, then: [{ channel_id: 'a', unread: 1 }] },
  { filter: 'only_unread after read returns nothing', given: [P('a', 'u', 1), read('u', 'a', 1)], query: { onlyUnread: true }, then: [] },
  // --- exclude_channel_types ---
  { filter: 'no exclusion: every type', given: threeChannelTypes, query: {}, then: ids('a', 'g', 'h') },
  { filter: 'exclude_channel_types leaves those types out', given: threeChannelTypes, query: { excludeChannelTypes: new Set([GROUP]) }, then: ids('a', 'h') },
  { filter: 'exclude_channel_types keeps channels listed in last_msg_seqs', given: threeChannelTypes, query: { excludeChannelTypes: new Set([GROUP]), lastMsgSeqs: lastSeqs(['g', GROUP, 0]) }, then: ids('a', 'g', 'h') },
  { filter: 'a listed excluded channel is still left out when S >= last', given: threeChannelTypes, query: { excludeChannelTypes: new Set([GROUP]), lastMsgSeqs: lastSeqs(['g', GROUP, 1]) }, then: ids('a', 'h') },
  { filter: 'excluding every type returns nothing', given: threeChannelTypes, query: { excludeChannelTypes: new Set([1, 2, 3]) }, then: [] },
  // --- paging ---
  { filter: 'page 0 is no paging', given: fiveConversations, query: { page: 0, pageSize: 2 }, then: ids('c5', 'c4', 'c3', 'c2', 'c1') },
  { filter: 'page 1', given: fiveConversations, query: { page: 1, pageSize: 2 }, then: ids('c5', 'c4') },
  { filter: 'page 2', given: fiveConversations, query: { page: 2, pageSize: 2 }, then: ids('c3', 'c2') },
  { filter: 'last, partial page', given: fiveConversations, query: { page: 3, pageSize: 2 }, then: ids('c1') },
  { filter: 'a page past the end is []', given: fiveConversations, query: { page: 4, pageSize: 2 }, then: [] },
  { filter: 'paging applies after the other filters', given: [...fiveConversations, read('u', 'c5', 1), read('u', 'c3', 1)], query: { onlyUnread: true, page: 2, pageSize: 2 }, then: ids('c1') },
  // --- ordering ---
  {
    filter: 'ordered by timestamp descending, then version descending',
    given: [P('a', 'u', 1, at(100)), P('b', 'u', 1, at(300)), P('c', 'u', 1, at(100)), P('d', 'u', 1, at(200))],
    query: {},
    then: ids('b', 'd', 'c', 'a'),
  },
  { filter: 'a read raises the version and so the rank among equal timestamps', given: [P('a', 'u', 1, at(100)), P('c', 'u', 1, at(100)), read('u', 'a', 1)], query: {}, then: ids('a', 'c') },
  // --- msg_count ---
  { filter: 'msg_count caps recents at the newest ones', given: threeMessagesFromA, query: { msgCount: 2 }, then: [{ channel_id: 'a', recents: seqs(3, 2) }, { channel_id: 'b', recents: seqs(1) }] },
  { filter: 'msg_count 0 gives empty recents', given: threeMessagesFromA, query: { msgCount: 0 }, then: [{ channel_id: 'a', last_msg_seq: 3, recents: [] }, { channel_id: 'b', recents: [] }] },
];

describe('sync answer: filters, ordering and paging', () => {
  it.each(filters)('$filter', ({ given: events, query, then }) => {
    expect(given(events).sync('u', query)).toMatchObject(then);
  });

  it('a tombstone holds exactly channel_id, channel_type, version and deleted', () => {
    expect(given(aDeleted).sync('u', { version: v(1), includeDeleted: true })).toEqual([{ channel_id: 'a', channel_type: PERSON_CHANNEL, version: v(2), deleted: 1 }]);
  });
});

describe('pickRecents', () => {
  const world = given([
    joined('g', ['u', 'x']),
    G('g', 'x', 1),
    G('g', 'x', 2, { subscribers: ['x'] }),
    G('g', 'x', 3),
    G('g', 'x', 4, { subscribers: ['x'] }),
    G('g', 'x', 5),
  ]);

  it('counts only messages visible to the user, newest first', () => {
    expect(world.sync('u', { msgCount: 2 })).toMatchObject([{ last_msg_seq: 5, recents: seqs(5, 3) }]);
    expect(world.sync('u', { msgCount: 50 })).toMatchObject([{ recents: seqs(5, 3, 1) }]);
    expect(world.sync('x', { msgCount: 4 })).toMatchObject([{ recents: seqs(5, 4, 3, 2) }]);
  });

  it('stops at count and respects recentsAfterSeq', () => {
    const { state } = world;
    const conversation = [...state.conversations.values()].find((c) => c.uid === 'u')!;
    const newestFirst = [...state.newMessages].sort((a, b) => b.seq - a.seq);
    const entry = (recentsAfterSeq: number) => ({ view: { conversation } as never, tombstone: false, recentsAfterSeq });
    expect(pickRecents(entry(0), newestFirst, 1).map((m) => m.seq)).toEqual([5]);
    expect(pickRecents(entry(0), newestFirst, 0)).toEqual([]);
    expect(pickRecents(entry(3), newestFirst, 50).map((m) => m.seq)).toEqual([5]);
  });
});

describe('sync answer rendering', () => {
  it('writes every field of the contract, message_id exactly as a bare integer and as message_idstr', () => {
    const world = given([
      P('a', 'u', 7, {
        message_id: 9_223_372_036_854_775_807n,
        client_msg_no: 'no-7',
        timestamp: 1_700_000_123,
        payload: '',
        header: { no_persist: 0, red_dot: 1, sync_once: 0 },
        setting: 3,
        expire: 60,
        topic: 'news',
      }),
    ]);
    expect(world.sync('u')).toEqual([
      {
        channel_id: 'a',
        channel_type: 1,
        unread: 7,
        timestamp: 1_700_000_123,
        last_msg_seq: 7,
        last_client_msg_no: 'no-7',
        offset_msg_seq: 0,
        readed_to_msg_seq: 0,
        version: v(0),
        recents: [
          {
            message_id: 9_223_372_036_854_775_807n,
            message_idstr: '9223372036854775807',
            message_seq: 7,
            client_msg_no: 'no-7',
            from_uid: 'a',
            channel_id: 'a',
            channel_type: 1,
            timestamp: 1_700_000_123,
            payload: '',
            header: { no_persist: 0, red_dot: 1, sync_once: 0 },
            setting: 3,
            expire: 60,
            topic: 'news',
          },
        ],
      },
    ]);
  });

  it.each([
    { messageId: 9_007_199_254_740_993n, text: '9007199254740993' },
    { messageId: -9_223_372_036_854_775_808n, text: '-9223372036854775808' },
    { messageId: 42n, text: '42' },
  ])('message_id $text is written as a bare integer, exactly', ({ messageId, text }) => {
    const answer = given([P('a', 'u', 1, { message_id: messageId })]).syncText('u');
    expect(answer).toContain(`"message_id":${text},"message_idstr":"${text}",`);
  });

  it('writes versions beyond 2^53 as bare integers', () => {
    const answer = given([{ event: P('a', 'u', 1), version: 1_700_000_000_123_456_789n }]).syncText('u');
    expect(answer).toContain('"version":1700000000123456789,');
  });

  it('escapes ids and strings as JSON', () => {
    const id = 'q"\\\n用户 @:|{';
    const world = given([P(id, 'u', 1, { client_msg_no: '"\\', topic: '\u2028' })]);
    expect(world.sync('u')).toMatchObject([{ channel_id: id, last_client_msg_no: '"\\', recents: [{ channel_id: id, from_uid: id, topic: '\u2028' }] }]);
  });

  it('an empty answer is []', () => {
    expect(given([]).syncText('u')).toBe('[]');
  });
});

/** a at v0, b at v1, then a read of a at v2 (the answer's versions: a v2, b v1). */
const readAfterTwo: GivenEvent[] = [...twoConversations, read('u', 'a', 1)];

const clamped: { rule: string; given: GivenEvent[]; query: SyncOptions; frontier: bigint; then: Record<string, unknown>[] }[] = [
  { rule: 'W above every version: versions as they are', given: readAfterTwo, query: {}, frontier: v(5), then: [{ channel_id: 'a', version: v(2) }, { channel_id: 'b', version: v(1) }] },
  { rule: 'W between versions: the newer one is reported at W', given: readAfterTwo, query: {}, frontier: v(1), then: [{ channel_id: 'a', version: v(1) }, { channel_id: 'b', version: v(1) }] },
  { rule: 'W below every version: every entry at W', given: readAfterTwo, query: {}, frontier: v(0) - 10n, then: [{ channel_id: 'a', version: v(0) - 10n }, { channel_id: 'b', version: v(0) - 10n }] },
  { rule: 'the filter compares real versions: a conversation above the cursor comes back, at W', given: readAfterTwo, query: { version: v(1) }, frontier: v(1), then: [{ channel_id: 'a', version: v(1), unread: 0 }] },
  { rule: 'a tombstone above W is reported at W', given: aDeleted, query: { version: v(1), includeDeleted: true }, frontier: v(1), then: [{ channel_id: 'a', deleted: 1, version: v(1) }] },
];

describe('sync answer: versions clamped to the frontier W', () => {
  it.each(clamped)('$rule', ({ given: events, query, frontier, then }) => {
    expect(given(events).sync('u', query, frontier)).toMatchObject(then);
  });

  it('the highest version of a clamped answer is a safe cursor: syncing from it returns every conversation above W again', () => {
    const world = given(readAfterTwo);
    const first = world.sync('u', {}, v(1));
    const cursor = first.map((entry) => entry.version as bigint).reduce((a, b) => (a > b ? a : b));
    expect(cursor).toBe(v(1));
    expect(world.sync('u', { version: cursor }, v(5))).toMatchObject([{ channel_id: 'a', version: v(2) }]);
  });

  it('counts the entries it clamps', () => {
    const world = given(readAfterTwo);
    const mine = [...world.state.conversations.values()].filter((c) => c.uid === 'u');
    const entries = selectConversations(mine.map((c) => viewConversation(c, undefined)), syncQuery('u'));
    expect([clampedEntries(entries.map((entry) => ({ entry })), v(1)), clampedEntries(entries.map((entry) => ({ entry })), v(2)), clampedEntries([], null)]).toEqual([1, 0, 0]);
  });
});
