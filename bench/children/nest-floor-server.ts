/**
 * The sync phases' second baseline: the API's own HTTP app (createApiApp: Nest
 * on Fastify, exact JSON bodies, guards, request metrics, the controller's
 * class-validator check) over a stub sync service that answers bytes captured
 * from the real API, as the bare server does. What the framework costs per
 * request, apart from the sync's own work (stamp read, answer cache, storage).
 *
 * argv: port fullAnswerFile incrementalAnswerFile
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { createLogger, createMetricsRegistry } from '@cs/observability';
import { ApiDependencies } from '../../apps/api/src/api.module';
import { createApiApp } from '../../apps/api/src/http-app';
import { SyncRequestDto } from '../../apps/api/src/sync/sync-request.dto';
import { exitOnStop, runChild } from './child-lifetime';

async function main(): Promise<void> {
  const [port, fullFile, incrementalFile] = process.argv.slice(2);
  const full = readFileSync(fullFile);
  const incremental = readFileSync(incrementalFile);
  const sync = { sync: async (request: SyncRequestDto) => (request.version !== undefined && request.version !== 0 ? incremental : full) };
  // The bench sends only syncs: the other routes' services are never called.
  const unused = {};
  const deps = {
    sync,
    channels: unused,
    commands: unused,
    apiToken: null,
    userHeader: null,
    log: createLogger('nest-floor', 'warn'),
    registry: createMetricsRegistry('nest-floor'),
    readinessChecks: [],
  } as unknown as ApiDependencies;
  const app = await createApiApp(deps);
  await app.listen(Number(port), '127.0.0.1');
  process.send?.('ready');
  exitOnStop(() => app.close());
}

runChild('nest floor server', main);
