import { parseExactJson } from '@cs/json';
import { FastifyInstance } from 'fastify';
import { BadRequest } from './errors';

export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * JSON bodies are parsed without turning int64 into doubles: a `version`
 * beyond 2^53 arrives as a bigint, exactly as the client wrote it. Every body
 * is read as JSON whatever its Content-Type says (or without one), as
 * WuKongIM does: clients send JSON as text/plain or as a form.
 */
export function useExactJsonBodies(fastify: FastifyInstance): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_BODY_BYTES }, (_request, body, done) => {
    try {
      done(null, parseExactJson(body as string));
    } catch {
      done(new BadRequest('body: not valid JSON'), undefined);
    }
  });
}
