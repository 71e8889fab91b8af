import { Controller, Get, INestApplication } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { Logger } from '@cs/observability';
import { Registry } from 'prom-client';
import { ErrorFilter } from './error.filter';
import { BadRequest, ServiceUnavailable } from './errors';

@Controller()
class FailingController {
  @Get('bug')
  bug(): never {
    throw new TypeError("Cannot read properties of undefined (reading 'uid')");
  }

  @Get('down')
  down(): never {
    throw new ServiceUnavailable('storage unavailable: PostgreSQL did not answer, retry later');
  }

  @Get('bad')
  bad(): never {
    throw new BadRequest('uid: required');
  }
}

/** The real filter inside a real Nest + Fastify app: what a client, the logs and Prometheus see. */
describe('ErrorFilter', () => {
  const logged: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const log: Logger = {
    error: (msg, fields) => logged.push({ level: 'error', msg, fields }),
    warn: (msg, fields) => logged.push({ level: 'warn', msg, fields }),
    info: (msg, fields) => logged.push({ level: 'info', msg, fields }),
    debug: (msg, fields) => logged.push({ level: 'debug', msg, fields }),
  };
  const registry = new Registry();
  let app: NestFastifyApplication;

  beforeAll(async () => {
    const module = await Test.createTestingModule({
      controllers: [FailingController],
      providers: [{ provide: APP_FILTER, useValue: new ErrorFilter(log, registry) }],
    }).compile();
    app = module.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });

  afterAll(async () => {
    await (app as INestApplication | undefined)?.close();
  });

  const get = async (url: string) => {
    const response = await app.getHttpAdapter().getInstance().inject({ method: 'GET', url });
    return { status: response.statusCode, body: response.json() };
  };
  const unexpectedCount = async () => (await registry.getSingleMetric('conversation_sync_http_unexpected_errors_total')!.get()).values;

  it('answers an unexpected error 500 {msg, status}, logs it at error level with its stack, and counts it', async () => {
    const { status, body } = await get('/bug');
    expect(status).toBe(500);
    expect(body).toEqual({ msg: 'internal error', status: 500 });
    expect(JSON.stringify(body)).not.toContain('reading');
    const [line] = logged.filter((entry) => entry.level === 'error');
    expect(line).toMatchObject({ msg: 'unexpected error', fields: { route: '/bug' } });
    expect((line.fields!.error as Error).stack).toContain('FailingController.bug');
    expect(await unexpectedCount()).toEqual([{ labels: { route: '/bug' }, value: 1 }]);
  });

  it.each([
    ['/down', 503, 'storage unavailable: PostgreSQL did not answer, retry later'],
    ['/bad', 400, 'uid: required'],
  ])('answers %s with its own status %d, uncounted', async (url, expectedStatus, msg) => {
    const before = await unexpectedCount();
    expect(await get(url)).toEqual({ status: expectedStatus, body: { msg, status: expectedStatus } });
    expect(await unexpectedCount()).toEqual(before);
  });
});
