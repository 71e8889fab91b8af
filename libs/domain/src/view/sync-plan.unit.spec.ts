import { PERSON_CHANNEL } from '../events';
import { channelKeyOf, conversationKeyOf } from '../channel-keys';
import { ProjectionState, evolve, movedEntriesOnly } from '../projection/evolve';
import { indexEntryOf } from '../projection/fan-out';
import { groupMessage as G, joined, personMessage as P, read, removed } from '../testing/events';
import { GivenEvent, SyncOptions, given, syncQuery } from '../testing/given-when-then';
import { planRead } from './sync-plan';
import { lastMsgSeqKey } from './sync-request';

const at = (timestamp: number) => ({ timestamp });
const ids = (...channelIds: string[]) => channelIds.map((channel_id) => ({ channel_id }));

describe('planRead: what a sync reads', () => {
  const rows: { when: string; query: SyncOptions; then: ReturnType<typeof planRead> }[] = [
    { when: 'incremental', query: { version: 2048n }, then: { read: 'changed', afterVersion: 2048n } },
    { when: 'incremental, paged and filtered', query: { version: 1024n, page: 3, onlyUnread: true }, then: { read: 'changed', afterVersion: 1024n } },
    { when: 'full, unpaged', query: {}, then: { read: 'everything' } },
    { when: 'full, page 1', query: { page: 1, pageSize: 100 }, then: { read: 'ranked', from: 0, count: 100 } },
    { when: 'full, page 3 of 20', query: { page: 3, pageSize: 20 }, then: { read: 'ranked', from: 40, count: 20 } },
    { when: 'full, paged, only_unread', query: { page: 1, onlyUnread: true }, then: { read: 'everything' } },
    { when: 'full, paged, exclude_channel_types', query: { page: 1, excludeChannelTypes: new Set([2]) }, then: { read: 'everything' } },
    { when: 'full, paged, last_msg_seqs', query: { page: 1, lastMsgSeqs: new Map([[lastMsgSeqKey('a', 1), 1]]) }, then: { read: 'everything' } },
  ];
  it.each(rows)('$when', ({ query, then }) => expect(planRead(syncQuery('u', query))).toEqual(then));
});

/**
 * Every answer of `given` is built twice — from the indexes (planRead, then
 * planSync on what was read) and from every conversation — and must agree
 * (testing/given-when-then.ts), so these rows check the indexed reads against
 * the whole one with large groups (SMALL_GROUP_MAX_MEMBERS 2 here) in the mix.
 */
const SMALL = 2;
/** Person conversations p1..p5 at timestamps 10, 20, 30, 40, 50; large groups L1 (timestamp 25) and L2 (45); small group s (35). */
const mixed: GivenEvent[] = [
  ...[1, 2, 3, 4, 5].map((n) => P(`p${n}`, 'u', 1, at(n * 10))),
  joined('L1', ['u', 'x', 'y']),
  joined('L2', ['u', 'x', 'y']),
  joined('s', ['u', 'x']),
  G('L1', 'x', 1, at(25)),
  G('L2', 'x', 1, at(45)),
  G('s', 'x', 1, at(35)),
];

describe('planSync: pages from the index merged with the large groups', () => {
  const rows: { when: string; query: SyncOptions; then: Record<string, unknown>[] }[] = [
    { when: 'unpaged', query: {}, then: ids('p5', 'L2', 'p4', 's', 'p3', 'L1', 'p2', 'p1') },
    { when: 'page 1 of 3', query: { page: 1, pageSize: 3 }, then: ids('p5', 'L2', 'p4') },
    { when: 'page 2 of 3 (the read starts two ranks early)', query: { page: 2, pageSize: 3 }, then: ids('s', 'p3', 'L1') },
    { when: 'page 3 of 3, short', query: { page: 3, pageSize: 3 }, then: ids('p2', 'p1') },
    { when: 'page past the end', query: { page: 4, pageSize: 3 }, then: [] },
    { when: 'page 2 of 1', query: { page: 2, pageSize: 1 }, then: ids('L2') },
    { when: 'page 6 of 1: a large group before the read is counted, not listed', query: { page: 6, pageSize: 1 }, then: ids('L1') },
    { when: 'page 7 of 1', query: { page: 7, pageSize: 1 }, then: ids('p2') },
  ];
  it.each(rows)('$when', ({ query, then }) => {
    expect(given(mixed, undefined, SMALL).sync('u', { msgCount: 0, ...query })).toMatchObject(then);
  });

  it('incremental: a large group changed after V comes back beside the indexed changes', () => {
    const world = given([...mixed, G('L1', 'x', 2, at(60)), P('p1', 'u', 2, at(61))], undefined, SMALL);
    const afterMixed = world.sync('u').map((c) => c.version as bigint).sort((a, b) => (a < b ? 1 : -1))[2];
    expect(world.sync('u', { version: afterMixed, msgCount: 0 })).toMatchObject(ids('p1', 'L1'));
  });
});

describe('fan-out rule: where each member entry sits', () => {
  const entryOf = (events: GivenEvent[], uid: string, channelId: string) => {
    const { state } = given(events, undefined, SMALL);
    const key = channelKeyOf(2, uid, channelId);
    const conversation = [...state.conversations.values()].find((c) => c.uid === uid && c.channelKey === key)!;
    return { entry: indexEntryOf(conversation, state.channels.get(key), SMALL) };
  };
  const rows: { when: string; given: GivenEvent[]; uid: string; then: string }[] = [
    { when: 'a member of a small group', given: [joined('g', ['u', 'x']), G('g', 'x', 1)], uid: 'u', then: 'indexed' },
    { when: 'a member of a group past the line', given: [joined('g', ['u', 'x', 'y']), G('g', 'x', 1)], uid: 'u', then: 'large' },
    { when: 'a group that grew past the line', given: [joined('g', ['u', 'x']), G('g', 'x', 1), joined('g', ['y'])], uid: 'u', then: 'large' },
    { when: 'a group that shrank to the line', given: [joined('g', ['u', 'x', 'y']), G('g', 'x', 1), removed('g', ['y'])], uid: 'u', then: 'indexed' },
    { when: 'a removed member of a large group', given: [joined('g', ['u', 'x', 'y']), G('g', 'x', 1), removed('g', ['u'])], uid: 'u', then: 'indexed' },
    { when: 're-adding a member counts once', given: [joined('g', ['u', 'x']), joined('g', ['u', 'x'])], uid: 'u', then: 'indexed' },
  ];
  it.each(rows)('$when: $then', ({ given: events, uid, then }) => expect(entryOf(events, uid, 'g').entry.kind).toBe(then));

  it('counts members as they join and leave', () => {
    const { state } = given([joined('g', ['u', 'x', 'y']), removed('g', ['x', 'nobody']), joined('g', ['u'])], undefined, SMALL);
    expect(state.channels.get(channelKeyOf(2, 'u', 'g'))!.memberCount).toBe(2);
  });

  it("a small group's message rewrites each member's entry; a large group's does not", () => {
    const small = given([joined('g', ['u', 'x'])], undefined, SMALL).state;
    for (const set of [small.changedConversations, small.movedEntries]) set.clear();
    const large = given([joined('g', ['u', 'x', 'y'])], undefined, SMALL).state;
    for (const set of [large.changedConversations, large.movedEntries]) set.clear();
    for (const state of [small, large]) evolve(state, G('g', 'x', 1), 5_000_000n);
    const keys = (state: ProjectionState) => ({ changed: [...state.changedConversations].sort(), movedOnly: movedEntriesOnly(state).sort() });
    const [u, x] = ['u', 'x'].map((uid) => conversationKeyOf(uid, channelKeyOf(2, uid, 'g')));
    expect(keys(small)).toEqual({ changed: [x], movedOnly: [u] }); // the sender's own seq; the other member's entry alone
    expect(keys(large)).toEqual({ changed: [x], movedOnly: [] });
  });

  it('a small-group entry carries the channel version and head; a read moves only its own', () => {
    const { entry } = entryOf([joined('g', ['u', 'x']), G('g', 'x', 1, at(77)), read('u', 'g', 2)], 'u', 'g');
    expect(entry).toMatchObject({ kind: 'indexed', timestamp: 77 });
  });

  it('a person channel is always indexed', () => {
    const { state } = given([P('a', 'u', 1, at(5))], undefined, SMALL);
    const conversation = [...state.conversations.values()].find((c) => c.uid === 'u')!;
    expect(indexEntryOf(conversation, undefined, SMALL)).toMatchObject({ kind: 'indexed', timestamp: 5 });
    expect(conversation.channelType).toBe(PERSON_CHANNEL);
  });
});
