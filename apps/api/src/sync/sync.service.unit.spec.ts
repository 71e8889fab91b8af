import { PlannedEntry, planSync, renderSyncAnswer } from '@cs/domain';
import { parseExactJson } from '@cs/json';
import { BASE_VERSION, given, syncQuery } from '../../../../libs/domain/src/testing/given-when-then';
import { personMessage } from '../../../../libs/domain/src/testing/events';
import { SnapshotRead } from './projection-reader';
import { streamAnswer } from './sync.service';

/** A streamed answer is the same JSON as the one rendered whole, whatever the number of chunks, clamped to W as that one is. */
describe('streamAnswer', () => {
  function streamedAndWhole(count: number, frontier: bigint | null) {
    const { state } = given(Array.from({ length: count }, (_, i) => personMessage(`p${i}`, 'u', 1, { timestamp: 1_000 + i })));
    const conversations = [...state.conversations.values()].filter((c) => c.uid === 'u');
    const planned = planSync({ conversations, channels: state.channels }, syncQuery('u', { msgCount: 0 }));
    const read: SnapshotRead = { snapshot: { conversations, channels: state.channels, frontier }, fromCache: true, recentsOf: async () => new Map() };
    const whole = renderSyncAnswer(
      planned.map(({ entry }: PlannedEntry) => ({ entry, recents: [] })),
      frontier,
    );
    return { read, planned, whole };
  }

  async function streamed(read: SnapshotRead, planned: PlannedEntry[]): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of streamAnswer(read, planned)) chunks.push(chunk);
    return Buffer.concat(chunks).toString();
  }

  it.each([0, 1, 499, 500, 501, 1_234])('%i entries', async (count) => {
    const { read, planned, whole } = streamedAndWhole(count, null);
    expect(await streamed(read, planned)).toBe(whole);
    expect(JSON.parse(whole)).toHaveLength(count);
  });

  it('reports every version as min(version, W) in every chunk', async () => {
    // given() gives event i the version BASE_VERSION + 10i: W below the last 734 of 1,234.
    const frontier = BASE_VERSION + 5_000n;
    const { read, planned, whole } = streamedAndWhole(1_234, frontier);
    const text = await streamed(read, planned);
    expect(text).toBe(whole);
    const versions = (parseExactJson(text) as { version: bigint }[]).map((entry) => entry.version);
    expect(versions.filter((version) => version === frontier)).toHaveLength(734);
    expect(versions.every((version) => version <= frontier)).toBe(true);
  });
});
