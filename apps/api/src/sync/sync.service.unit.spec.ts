import { PlannedEntry, planSync, renderSyncAnswer } from '@cs/domain';
import { personMessage } from '../../../../libs/domain/src/testing/events';
import { given, syncQuery } from '../../../../libs/domain/src/testing/given-when-then';
import { SnapshotRead } from './projection-reader';
import { streamAnswer } from './sync.service';

/** A streamed answer is the same JSON as the one rendered whole, whatever the number of chunks. */
describe('streamAnswer', () => {
  it.each([0, 1, 499, 500, 501, 1_234])('%i entries', async (count) => {
    const { state } = given(Array.from({ length: count }, (_, i) => personMessage(`p${i}`, 'u', 1, { timestamp: 1_000 + i })));
    const conversations = [...state.conversations.values()].filter((c) => c.uid === 'u');
    const query = syncQuery('u', { msgCount: 0 });
    const planned = planSync({ conversations, channels: state.channels }, query);
    const read: SnapshotRead = { snapshot: { conversations, channels: state.channels, bound: 0n }, fromCache: true, recentsOf: async () => new Map() };
    const chunks: Buffer[] = [];
    for await (const chunk of streamAnswer(read, planned)) chunks.push(chunk);
    const whole = renderSyncAnswer(planned.map(({ entry }: PlannedEntry) => ({ entry, recents: [] })));
    expect(Buffer.concat(chunks).toString()).toBe(whole);
    expect(JSON.parse(whole)).toHaveLength(count);
  });
});
