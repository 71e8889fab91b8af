import { given } from '../../libs/domain/src/testing/given-when-then';
import { diffFullSync } from './compare';
import { expectedFullSyncs } from './reference-model';
import { planTraffic } from './traffic';

/**
 * The fault suite's reference model and the app's rules are written apart;
 * here they meet on seeded traffic without any storage: a disagreement is a
 * rule bug on one side, found in a second instead of after a fault run.
 */
describe('fault suite reference model (unit)', () => {
  const traffic = { users: 320, personChannels: 60, groups: 40, batches: 300, eventsPerBatch: 11, poisonRate: 0.04, hotShare: 0.15 };
  const options = { recentMessagesKept: 50, msgCount: 5 };

  it.each([20_260_415, 1, 77])('agrees with the domain rules for every user of seed %i, retention exercised', (seed) => {
    const plan = planTraffic(seed, traffic);
    const expected = expectedFullSyncs(plan.events, options);
    const world = given(plan.events, options.recentMessagesKept);
    const mismatches = plan.users
      .map((uid) => ({ uid, problems: diffFullSync(world.sync(uid, { msgCount: options.msgCount }), expected.get(uid) ?? []) }))
      .filter((m) => m.problems.length > 0);
    expect(mismatches.slice(0, 3)).toEqual([]);
    // The hot channels outgrew their windows: seqs were let go of.
    const hotMessages = plan.events.filter((e) => e.type === 'message' && e.channel_id === 'g0').length;
    expect(hotMessages).toBeGreaterThan(options.recentMessagesKept * 2);
    expect(expected.size).toBeGreaterThan(200);
  });
});
