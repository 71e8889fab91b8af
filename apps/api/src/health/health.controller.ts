import { Controller, Get, HttpCode, Inject, Res } from '@nestjs/common';
import { checkDependencies } from '@cs/storage';
import { FastifyReply } from 'fastify';
import Redis from 'ioredis';
import { Pool } from 'pg';

@Controller('health')
export class HealthController {
  constructor(
    private readonly pool: Pool,
    @Inject(Redis) private readonly redis: Redis,
  ) {}

  @Get('live')
  @HttpCode(200)
  live() {
    return { status: 'ok' };
  }

  /** Ready when PostgreSQL and Redis answer. */
  @Get('ready')
  async ready(@Res() reply: FastifyReply) {
    const checks = await checkDependencies(this.pool, this.redis);
    const ok = Object.values(checks).every((status) => status === 'up');
    await reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks });
  }
}
