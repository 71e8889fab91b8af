import { RssSample } from '../lib/rss';
import { MemoryCheckpoint, SharedWorld } from '../world';
import { SharedPhase } from './phase';

export interface MemoryResult {
  maxMb: { consumer: number | null; api: number | null };
  consumerPeakMbPerIngestRun: Record<'ingest-1' | 'ingest-2' | 'ingest-3-big-group', number | null>;
  /** taken by the phases: afterIngest, afterFullSync, afterBigGroupWithout, afterBigGroupWith, atEnd */
  checkpoints: Record<string, MemoryCheckpoint>;
  consumerGrowsWithEvents: boolean;
  samples: RssSample[];
}

/** Phase 6: VmRSS of the consumer and the API, sampled every 500 ms through phases 2–5. */
export const memoryPhase: SharedPhase<'memory'> = {
  name: 'memory',
  result: 'memory',
  world: 'shared',
  inRuns: ['quick', 'full'],
  run: runMemory,
};

async function runMemory(world: SharedWorld): Promise<MemoryResult> {
  const { rss } = world;
  rss.phase = 'end';
  await world.checkpointMemory('atEnd');
  // Growth with events: the consumer's peak during the second ingest run (same traffic, after
  // twice the events) against its peak during the first.
  const peaks = {
    'ingest-1': rss.max('consumer', 'ingest-1'),
    'ingest-2': rss.max('consumer', 'ingest-2'),
    'ingest-3-big-group': rss.max('consumer', 'ingest-3-big-group'),
  };
  const first = peaks['ingest-1'] ?? 0;
  const second = peaks['ingest-2'] ?? 0;
  return {
    maxMb: { consumer: rss.max('consumer'), api: rss.max('api') },
    consumerPeakMbPerIngestRun: peaks,
    checkpoints: world.memory,
    consumerGrowsWithEvents: second > first * 1.25 && second - first > 30,
    samples: rss.samples,
  };
}
