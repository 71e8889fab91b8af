import { ImEvent } from '../events';
import { channelKeyOf, conversationKeyOf } from '../channel-keys';
import { deleted, groupMessage, joined, read, removed, unreadSet, GROUP } from '../testing/events';
import { given, versionAt } from '../testing/given-when-then';
import { mulberry32 } from '../testing/random';
import { ConversationView, viewConversation } from './conversation-view';

/**
 * A reader may catch a batch half-written: a user's record from before it with
 * the channel's from after it (Redis reads the records before the channels; a
 * cluster writes them on different nodes), or the other way round. Such an
 * answer is reported at W, the version before the batch, so the client asks
 * again from W. That is safe only if every conversation the reader may have
 * shown differently from how it ends up has its final version above W: then it
 * comes again, as it now is. This checks that rule over random histories.
 */
describe('a half-written batch', () => {
  const USERS = ['a', 'b', 'c'];
  const GROUPS = ['g1', 'g2'];

  it('leaves every conversation it may have shown torn with a final version above W', () => {
    let checked = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const random = mulberry32(seed);
      const events = randomHistory(random, 40);
      const committed = 1 + Math.floor(random() * (events.length - 1));
      const batchEnd = committed + 1 + Math.floor(random() * Math.min(8, events.length - committed));
      const before = given(events.slice(0, committed)).state;
      const after = given(events.slice(0, batchEnd)).state;
      const w = versionAt(committed - 1);
      for (const uid of USERS) {
        for (const channelId of GROUPS) {
          const channelKey = channelKeyOf(GROUP, uid, channelId);
          const key = conversationKeyOf(uid, channelKey);
          const recordAfter = after.conversations.get(key);
          if (recordAfter === undefined) continue;
          const recordBefore = before.conversations.get(key);
          const channelBefore = before.channels.get(channelKey);
          const channelAfter = after.channels.get(channelKey);
          const final = viewConversation(recordAfter, channelAfter);
          const shown = [
            recordBefore && viewConversation(recordBefore, channelBefore),
            recordBefore && viewConversation(recordBefore, channelAfter),
            viewConversation(recordAfter, channelBefore),
          ].filter((view): view is ConversationView => view !== undefined);
          for (const view of shown) {
            if (contentOf(view) === contentOf(final)) continue;
            checked++;
            expect({ seed, committed, batchEnd, uid, channelId, finalAboveW: final.version > w }).toEqual({
              seed,
              committed,
              batchEnd,
              uid,
              channelId,
              finalAboveW: true,
            });
          }
        }
      }
    }
    // The histories really tore conversations.
    expect(checked).toBeGreaterThan(200);
  });

  function randomHistory(random: () => number, length: number): ImEvent[] {
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
    const seqs = new Map(GROUPS.map((g) => [g, 0]));
    const events: ImEvent[] = GROUPS.map((g) => joined(g, USERS.filter(() => random() < 0.7)));
    while (events.length < length) {
      const channelId = pick(GROUPS);
      const uid = pick(USERS);
      const roll = random();
      if (roll < 0.5) {
        const seq = seqs.get(channelId)! + 1;
        seqs.set(channelId, seq);
        // Now and then addressed to explicit subscribers: their own records move, the channel's head does not.
        const subscribers = random() < 0.2 ? [pick(USERS), ...USERS.filter(() => random() < 0.5)] : null;
        events.push(groupMessage(channelId, pick([...USERS, 'x']), seq, { subscribers: subscribers && [...new Set(subscribers)] }));
      } else if (roll < 0.62) events.push(joined(channelId, [uid]));
      else if (roll < 0.74) events.push(removed(channelId, [uid]));
      else if (roll < 0.84) events.push(read(uid, channelId, GROUP));
      else if (roll < 0.92) events.push(unreadSet(uid, channelId, GROUP, Math.floor(random() * 3)));
      else events.push(deleted(uid, channelId, GROUP));
    }
    return events;
  }
});

/** What a client sees of a conversation, its version aside. */
function contentOf(view: ConversationView): string {
  return JSON.stringify([view.head?.seq ?? null, view.head?.timestamp ?? null, view.unread, view.readedToMsgSeq, view.cleared]);
}
