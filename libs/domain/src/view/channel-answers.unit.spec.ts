import { parseExactJson } from '../../../json/src';
import { PERSON_CHANNEL } from '../events';
import { MessageRecord } from '../projection/records';
import { deleted, groupMessage as G, GROUP, joined, personMessage as P, removed } from '../testing/events';
import { GivenEvent, given } from '../testing/given-when-then';
import { listedChannels, planChannelMessages, renderChannelMessages, selectRequestedChannels } from './channel-answers';
import { isVisibleTo, viewConversation } from './conversation-view';
import { pickRecents, renderSyncAnswer } from './sync-answer';

/** u sees a (person, seqs 1..3), g (group, joined after seq 1, so seqs 2..3) and nothing of h (never a member). */
const world: GivenEvent[] = [
  P('a', 'u', 1),
  P('u', 'a', 2),
  P('a', 'u', 3, { timestamp: 1 }),
  joined('g', ['x']),
  G('g', 'x', 1),
  joined('g', ['u']),
  G('g', 'x', 2),
  G('g', 'x', 3),
  joined('h', ['x']),
  G('h', 'x', 1),
];

function viewsOf(events: GivenEvent[], uid: string) {
  const { state } = given(events);
  const views = [...state.conversations.values()]
    .filter((c) => c.uid === uid)
    .map((c) => viewConversation(c, state.channels.get(c.channelKey)));
  const messagesOf = (channelKey: string) => state.newMessages.filter((m) => m.channelKey === channelKey);
  return { views, messagesOf };
}

describe('listedChannels (/conversation/channels)', () => {
  it.each([
    { rule: 'the channels a full sync lists, in its order, ids as the user sees them', events: world, then: [{ channelId: 'g', channelType: GROUP }, { channelId: 'a', channelType: PERSON_CHANNEL }] },
    { rule: 'a deleted conversation is not listed', events: [...world, deleted('u', 'a', PERSON_CHANNEL)], then: [{ channelId: 'g', channelType: GROUP }] },
    { rule: 'nothing for a user without conversations', events: [], then: [] },
  ])('$rule', ({ events, then }) => {
    expect(listedChannels(viewsOf(events, 'u').views)).toEqual(then);
  });
});

describe('selectRequestedChannels (/conversation/syncByChannels)', () => {
  const answer = (events: GivenEvent[], requested: { channelId: string; channelType: number }[]) => {
    const { views, messagesOf } = viewsOf(events, 'u');
    const entries = selectRequestedChannels('u', views, requested).map((entry) => {
      const candidates = messagesOf(entry.view.conversation.channelKey).sort((a, b) => b.seq - a.seq);
      return { entry, recents: pickRecents(entry, candidates, 50) };
    });
    return parseExactJson(renderSyncAnswer(entries)) as Record<string, unknown>[];
  };
  const seqs = (...messageSeqs: number[]) => messageSeqs.map((message_seq) => ({ message_seq }));

  it.each([
    {
      rule: 'the requested channels the user sees, in request order, recents above the floor',
      requested: [{ channelId: 'a', channelType: PERSON_CHANNEL }, { channelId: 'g', channelType: GROUP }],
      then: [{ channel_id: 'a', last_msg_seq: 3, unread: 1, recents: seqs(3, 2, 1) }, { channel_id: 'g', last_msg_seq: 3, recents: seqs(3, 2) }],
    },
    { rule: 'a channel the user is not in is left out', requested: [{ channelId: 'h', channelType: GROUP }], then: [] },
    { rule: 'an unknown channel is left out', requested: [{ channelId: 'nobody', channelType: PERSON_CHANNEL }], then: [] },
    { rule: 'the same id with another type is another channel', requested: [{ channelId: 'a', channelType: GROUP }], then: [] },
    { rule: 'a channel requested twice comes once', requested: [{ channelId: 'g', channelType: GROUP }, { channelId: 'g', channelType: GROUP }], then: [{ channel_id: 'g' }] },
  ])('$rule', ({ requested, then }) => {
    expect(answer(world, requested)).toMatchObject(then);
  });

  it('a deleted conversation is left out', () => {
    expect(answer([...world, deleted('u', 'a', PERSON_CHANNEL)], [{ channelId: 'a', channelType: PERSON_CHANNEL }])).toEqual([]);
  });
});

describe('planChannelMessages (/conversation/syncMessages)', () => {
  /** Messages the plan allows, from the in-memory store, in the direction asked. */
  const answer = (events: GivenEvent[], requested: { channelId: string; channelType: number; lastMsgSeq: number }[], count: number, newestFirst: boolean) => {
    const { views, messagesOf } = viewsOf(events, 'u');
    const entries = planChannelMessages('u', views, requested).map((planned) => {
      const { conversation } = planned;
      const picked: MessageRecord[] = conversation
        ? messagesOf(conversation.channelKey)
            .filter((m) => m.seq > planned.afterSeq && m.seq <= planned.uptoSeq && isVisibleTo(conversation, m))
            .sort((a, b) => (newestFirst ? b.seq - a.seq : a.seq - b.seq))
            .slice(0, count)
        : [];
      return { planned, messages: picked };
    });
    return parseExactJson(renderChannelMessages(entries)) as { channel_id: string; messages: { message_seq: number }[]; user_last_msg_seq: number }[];
  };
  const seqsOf = (entries: { messages: { message_seq: number }[] }[]) => entries.map((e) => e.messages.map((m) => m.message_seq));

  it.each([
    { rule: 'last_msg_seq 0: from the start, oldest first', lastMsgSeq: 0, newestFirst: false, count: 15, then: [[1, 2, 3], [2, 3]] },
    { rule: 'last_msg_seq is inclusive', lastMsgSeq: 2, newestFirst: false, count: 15, then: [[2, 3], [2, 3]] },
    { rule: 'order_by_last: the newest msg_count, newest first', lastMsgSeq: 0, newestFirst: true, count: 2, then: [[3, 2], [3, 2]] },
    { rule: 'oldest first: the oldest msg_count', lastMsgSeq: 0, newestFirst: false, count: 1, then: [[1], [2]] },
    { rule: 'never below the floor, whatever last_msg_seq', lastMsgSeq: 1, newestFirst: true, count: 15, then: [[3, 2, 1], [3, 2]] },
  ])('$rule', ({ lastMsgSeq, newestFirst, count, then }) => {
    const requested = [{ channelId: 'a', channelType: PERSON_CHANNEL, lastMsgSeq }, { channelId: 'g', channelType: GROUP, lastMsgSeq }];
    expect(seqsOf(answer(world, requested, count, newestFirst))).toEqual(then);
  });

  it('every requested channel has an entry, each once, ids as the user sees them; user_last_msg_seq is their own latest visible seq', () => {
    const requested = [
      { channelId: 'a', channelType: PERSON_CHANNEL, lastMsgSeq: 0 },
      { channelId: 'a', channelType: PERSON_CHANNEL, lastMsgSeq: 0 },
      { channelId: 'h', channelType: GROUP, lastMsgSeq: 0 },
    ];
    expect(answer(world, requested, 15, true)).toEqual([
      expect.objectContaining({ channel_id: 'a', channel_type: PERSON_CHANNEL, user_last_msg_seq: 2 }),
      { channel_id: 'h', channel_type: GROUP, messages: [], user_last_msg_seq: 0 },
    ]);
  });

  it('after removal from a group, messages sent later are not the user\'s', () => {
    const events = [...world, removed('g', ['u']), G('g', 'x', 4)];
    expect(seqsOf(answer(events, [{ channelId: 'g', channelType: GROUP, lastMsgSeq: 0 }], 15, true))).toEqual([[3, 2]]);
  });
});
