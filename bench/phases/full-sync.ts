import { log } from '../lib/progress';
import { SyncLoads, SyncRig, syncLoads } from '../lib/sync-rig';
import { SharedWorld } from '../world';
import { SharedPhase } from './phase';

export interface FullSyncResult extends SyncLoads {
  conversations: number;
  answerBytes: number;
}

/** Phase 3: one user's full sync, back to back and at a steady rate, beside bare Fastify answering the same bytes. */
export const fullSyncPhase: SharedPhase<'fullSync'> = {
  name: 'full-sync',
  result: 'fullSync',
  world: 'shared',
  inRuns: ['quick', 'full'],
  run: runFullSync,
};

async function runFullSync(world: SharedWorld): Promise<FullSyncResult> {
  world.rss.phase = 'full-sync';
  log('\n[3] full sync');
  const rig = await SyncRig.of(world);
  const api = await rig.measure('full sync (API)', rig.syncUrl, rig.fullBody, world.api.pid, true);
  await world.checkpointMemory('afterFullSync');
  const bare = await rig.measure('full sync (bare Fastify)', await rig.baselineUrl(), rig.fullBody, rig.baselinePid(), true);
  const nest = await rig.measureSaturated('full sync (Nest floor)', await rig.baselineUrl('nest'), rig.fullBody, rig.baselinePid('nest'));
  log(`    API ${Math.round(api.saturated.rps)} req/s p99 ${api.saturated.p99Ms} ms; bare Fastify ${Math.round(bare.saturated.rps)} req/s p99 ${bare.saturated.p99Ms} ms; Nest floor ${Math.round(nest.rps)} req/s`);
  log(`    at ${world.settings.latencyRate} req/s: API p99 ${api.paced.p99Ms} ms; bare Fastify p99 ${bare.paced.p99Ms} ms`);
  return { conversations: rig.conversations, answerBytes: Buffer.byteLength(rig.fullAnswer), ...syncLoads(api, bare, nest) };
}
