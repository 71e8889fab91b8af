import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import { Logger } from '@cs/observability';
import { FastifyReply } from 'fastify';

/** Every error answer has the WuKongIM shape `{"msg": "...", "status": n}`; nothing leaks a stack. */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  constructor(private readonly log: Logger) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { status, msg } = this.describe(error);
    void reply.status(status).header('content-type', 'application/json').send(JSON.stringify({ msg, status }));
  }

  private describe(error: unknown): { status: number; msg: string } {
    if (error instanceof HttpException) {
      const body = error.getResponse();
      const msg = typeof body === 'object' && body !== null && 'msg' in body ? String((body as { msg: unknown }).msg) : error.message;
      return { status: error.getStatus(), msg };
    }
    const fastifyError = error as { statusCode?: number; code?: string; message?: string };
    if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
      return { status: fastifyError.statusCode, msg: FASTIFY_MESSAGES[fastifyError.code ?? ''] ?? fastifyError.message ?? 'bad request' };
    }
    this.log.error('unexpected error', { error });
    return { status: HttpStatus.SERVICE_UNAVAILABLE, msg: 'temporarily unavailable, retry later' };
  }
}

const FASTIFY_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body: larger than 1 MiB',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'body: must be a JSON object',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'content-type: must be application/json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'content-length: does not match the body',
};
