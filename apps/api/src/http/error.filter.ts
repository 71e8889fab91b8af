import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import { Logger } from '@cs/observability';
import { FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Registry } from 'prom-client';

/**
 * Every error answer has the WuKongIM shape `{"msg": "...", "status": n}`; nothing leaks a stack.
 * An error nobody expected is a bug, not an outage: 500 (so clients do not retry it for ever),
 * logged with its stack and counted. A dependency that is down throws ServiceUnavailable (503).
 */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly unexpected: Counter<'route'>;

  constructor(
    private readonly log: Logger,
    registry: Registry,
  ) {
    this.unexpected = new Counter({
      name: 'conversation_sync_http_unexpected_errors_total',
      help: 'Requests answered 500 because of an unexpected error (a bug; its stack is logged)',
      labelNames: ['route'],
      registers: [registry],
    });
  }

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const { status, msg } = this.describe(error) ?? this.unexpectedError(error, http.getRequest<FastifyRequest>());
    void reply.status(status).header('content-type', 'application/json').send(JSON.stringify({ msg, status }));
  }

  private describe(error: unknown): { status: number; msg: string } | null {
    if (error instanceof HttpException) {
      const body = error.getResponse();
      const msg = typeof body === 'object' && body !== null && 'msg' in body ? String((body as { msg: unknown }).msg) : error.message;
      return { status: error.getStatus(), msg };
    }
    const fastifyError = error as { statusCode?: number; code?: string; message?: string };
    if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
      return { status: fastifyError.statusCode, msg: FASTIFY_MESSAGES[fastifyError.code ?? ''] ?? fastifyError.message ?? 'bad request' };
    }
    return null;
  }

  private unexpectedError(error: unknown, request: FastifyRequest): { status: number; msg: string } {
    const route = request.routeOptions?.url ?? 'unmatched';
    this.unexpected.inc({ route });
    this.log.error('unexpected error', { route, error });
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, msg: 'internal error' };
  }
}

const FASTIFY_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body: larger than 1 MiB',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'body: must be a JSON object',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'content-type: must be application/json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'content-length: does not match the body',
};
