import { Settings } from '../settings';
import { SharedWorld } from '../world';
import type { BigGroupResult } from './big-group';
import type { FullSyncResult } from './full-sync';
import type { IncrementalSyncResult } from './incremental-sync';
import type { IngestResult } from './ingest';
import type { LargeAccountResult } from './large-account';
import type { MemoryResult } from './memory';
import type { ScaleOutResult } from './scale-out';
import type { StorageResult } from './storage';

/** Each phase's typed result, under the key it has in bench/results/*.json. */
export interface PhaseResults {
  ingest: IngestResult;
  fullSync: FullSyncResult;
  incrementalSync: IncrementalSyncResult;
  bigGroup: BigGroupResult;
  memory: MemoryResult;
  storage: StorageResult;
  scaleOut: ScaleOutResult;
  largeAccount: LargeAccountResult;
}

export type ResultKey = keyof PhaseResults;

/**
 * A phase of the bench. `shared` phases run in order in one SharedWorld (the
 * ingest phase first: it starts the consumer the others use); `own` phases
 * bring their own topic, database and Redis db, so they also run alone
 * (`--only <name>`). `inRuns` says which runs include it besides `--only`.
 */
export type Phase = { [K in ResultKey]: SharedPhase<K> | OwnPhase<K> }[ResultKey];

interface PhaseBase<K extends ResultKey> {
  /** as typed after --only, and in the log */
  name: string;
  result: K;
  inRuns: readonly Settings['mode'][];
}

export interface SharedPhase<K extends ResultKey> extends PhaseBase<K> {
  world: 'shared';
  run(world: SharedWorld): Promise<PhaseResults[K]>;
}

export interface OwnPhase<K extends ResultKey> extends PhaseBase<K> {
  world: 'own';
  run(settings: Settings): Promise<PhaseResults[K]>;
}
