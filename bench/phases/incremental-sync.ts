import { log } from '../lib/progress';
import { SyncLoads, SyncRig, syncLoads } from '../lib/sync-rig';
import { SharedWorld } from '../world';
import { SharedPhase } from './phase';

export interface IncrementalSyncResult extends SyncLoads {
  /** the highest version of the full answer, sent back (decimal string) */
  version: string;
  answer: string;
}

/** Phase 4: the same user with nothing new (the answer is `[]`), beside bare Fastify answering `[]`. */
export const incrementalSyncPhase: SharedPhase<'incrementalSync'> = {
  name: 'incremental-sync',
  result: 'incrementalSync',
  world: 'shared',
  inRuns: ['quick', 'full'],
  run: runIncrementalSync,
};

async function runIncrementalSync(world: SharedWorld): Promise<IncrementalSyncResult> {
  world.rss.phase = 'incremental-sync';
  log('\n[4] incremental sync, nothing new');
  const rig = await SyncRig.of(world);
  const api = await rig.measure('incremental (API)', rig.syncUrl, rig.incrementalBody, world.api.pid, false);
  const bare = await rig.measure('incremental (bare Fastify)', await rig.baselineUrl(), rig.incrementalBody, rig.baselinePid(), false);
  const nest = await rig.measureSaturated('incremental (Nest floor)', await rig.baselineUrl('nest'), rig.incrementalBody, rig.baselinePid('nest'));
  await rig.stop();
  log(`    API ${Math.round(api.saturated.rps)} req/s p99 ${api.saturated.p99Ms} ms; bare Fastify p99 ${bare.saturated.p99Ms} ms; Nest floor ${Math.round(nest.rps)} req/s`);
  log(`    at ${world.settings.latencyRate} req/s: API p99 ${api.paced.p99Ms} ms; bare Fastify p99 ${bare.paced.p99Ms} ms`);
  return { version: rig.highestVersion.toString(), answer: rig.incrementalAnswer, ...syncLoads(api, bare, nest) };
}
