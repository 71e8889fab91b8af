import { bigGroupPhase } from './big-group';
import { fullSyncPhase } from './full-sync';
import { incrementalSyncPhase } from './incremental-sync';
import { ingestPhase } from './ingest';
import { largeAccountPhase } from './large-account';
import { memoryPhase } from './memory';
import { Phase } from './phase';
import { scaleOutPhase } from './scale-out';
import { storagePhase } from './storage';

/**
 * The bench's phases in the order a run takes them: the shared-world ones
 * first (ingest starts the consumer the next ones use), then those with a
 * world of their own. A new phase: its file here, its result type in
 * PhaseResults (phase.ts), its rows in TARGETS (targets.ts).
 */
export const PHASES: readonly Phase[] = [ingestPhase, fullSyncPhase, incrementalSyncPhase, bigGroupPhase, memoryPhase, storagePhase, scaleOutPhase, largeAccountPhase];

export * from './phase';
