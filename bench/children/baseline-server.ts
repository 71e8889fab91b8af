/**
 * The sync baseline: a bare Fastify server (default JSON body parsing, no
 * Nest, no storage) answering POST /conversation/sync with bytes captured
 * from the real API: the incremental answer when the body has a `version`,
 * the full answer otherwise.
 *
 * argv: port fullAnswerFile incrementalAnswerFile
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { exitOnStop, runChild } from './child-lifetime';

async function main(): Promise<void> {
  const [port, fullFile, incrementalFile] = process.argv.slice(2);
  const full = readFileSync(fullFile);
  const incremental = readFileSync(incrementalFile);
  const app = Fastify({ logger: false });
  app.post('/conversation/sync', async (request, reply) => {
    const body = request.body as { version?: unknown } | null;
    reply.header('content-type', 'application/json; charset=utf-8');
    return body && body.version !== undefined && body.version !== 0 ? incremental : full;
  });
  await app.listen({ port: Number(port), host: '127.0.0.1' });
  process.send?.('ready');
  exitOnStop(() => app.close());
}

runChild('baseline server', main);
