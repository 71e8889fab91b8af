/**
 * One server of the HTTP-stack probe (bench/probes/http-stack-probe.ts): the same bytes answered
 * by stacks one layer apart: bare Fastify (default JSON parsing), + the API's exact JSON bodies,
 * + its request observer (metrics, log line), + its class-validator check of the sync request,
 * and the API's own Nest app (createApiApp) over a stub sync service.
 *
 * argv: port mode answerFile
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { LOG_LEVELS, LogLevel } from '@cs/config';
import { createLogger, createMetricsRegistry } from '@cs/observability';
import { ApiDependencies } from '../../apps/api/src/api.module';
import { createApiApp } from '../../apps/api/src/http-app';
import { useExactJsonBodies } from '../../apps/api/src/http/exact-json-body';
import { observeRequests } from '../../apps/api/src/http/request-observer';
import { validatedBody } from '../../apps/api/src/http/validated-body';
import { SyncRequestDto } from '../../apps/api/src/sync/sync-request.dto';

/** Each mode adds one layer to the one before it; 'nest' is the API's whole HTTP app. */
const STACK_MODES = ['bare', 'exact', 'observed', 'validated', 'nest'] as const;
type Mode = (typeof STACK_MODES)[number];

async function main(): Promise<void> {
  const [port, modeArg, answerFile] = process.argv.slice(2);
  const mode = modeArg as Mode;
  if (!STACK_MODES.includes(mode)) throw new Error(`mode ${modeArg}: one of ${STACK_MODES.join(', ')}`);
  const answer = readFileSync(answerFile);
  const level = (LOG_LEVELS as readonly string[]).includes(process.env.LOG_LEVEL ?? '') ? (process.env.LOG_LEVEL as LogLevel) : 'warn';
  const log = createLogger('http-stack-probe', level);
  const registry = createMetricsRegistry('http-stack-probe');
  if (mode === 'nest') {
    const sync = { sync: async () => answer };
    const deps = { sync, channels: {}, commands: {}, apiToken: null, userHeader: null, log, registry, readinessChecks: [] } as unknown as ApiDependencies;
    const app = await createApiApp(deps);
    await app.listen(Number(port), '127.0.0.1');
  } else {
    const layers = STACK_MODES.indexOf(mode);
    const app = Fastify({ logger: false });
    if (layers >= 1) useExactJsonBodies(app);
    if (layers >= 2) observeRequests(app, registry, log);
    app.post('/conversation/sync', async (request, reply) => {
      if (layers >= 3) validatedBody(SyncRequestDto, request.body);
      reply.header('content-type', 'application/json; charset=utf-8');
      return answer;
    });
    await app.listen({ port: Number(port), host: '127.0.0.1' });
  }
  process.send?.('ready');
  process.on('disconnect', () => process.exit(0));
  // process.exit, so a preloaded profiler (bench/children/cpu-profile-preload.js) writes its profile.
  process.on('SIGTERM', () => process.exit(0));
}

main().catch((error) => {
  process.stderr.write(`http-stack server failed: ${String(error)}\n`);
  process.exit(1);
});
