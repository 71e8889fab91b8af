import { parseExactJson } from '@cs/json';
import { FastifyInstance } from 'fastify';
import { BadRequest } from './errors';

export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * JSON bodies are parsed without turning int64 into doubles: a `version`
 * beyond 2^53 arrives as a bigint, exactly as the client wrote it.
 */
export function useExactJsonBodies(fastify: FastifyInstance): void {
  fastify.removeContentTypeParser(['application/json', 'text/plain']);
  fastify.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'string', bodyLimit: MAX_BODY_BYTES }, (_request, body, done) => {
    try {
      done(null, parseExactJson(body as string));
    } catch {
      done(new BadRequest('body: not valid JSON'), undefined);
    }
  });
}
