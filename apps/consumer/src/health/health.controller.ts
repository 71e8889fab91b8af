import { Controller, Get, HttpCode, Inject, Res } from '@nestjs/common';
import { checkDependencies } from '@cs/storage';
import { FastifyReply } from 'fastify';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { KafkaIngest } from '../ingest/kafka-ingest';

@Controller('health')
export class HealthController {
  constructor(
    private readonly pool: Pool,
    @Inject(Redis) private readonly redis: Redis,
    private readonly ingest: KafkaIngest,
  ) {}

  @Get('live')
  @HttpCode(200)
  live() {
    return { status: 'ok' };
  }

  /** Ready when PostgreSQL and Redis answer and the consumer is in its group. */
  @Get('ready')
  async ready(@Res() reply: FastifyReply) {
    const checks = { ...(await checkDependencies(this.pool, this.redis)), kafka: this.ingest.isJoined ? 'up' : 'down' };
    const ok = Object.values(checks).every((status) => status === 'up');
    await reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks });
  }
}
