import { DynamicModule, Module } from '@nestjs/common';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { HealthController } from './health/health.controller';
import { KafkaIngest } from './ingest/kafka-ingest';

export interface ConsumerDependencies {
  pool: Pool;
  redis: Redis;
  ingest: KafkaIngest;
}

/** Thin wiring: the HTTP side (health) of the consumer over dependencies built in main.ts. */
@Module({})
export class ConsumerModule {
  static register(deps: ConsumerDependencies): DynamicModule {
    return {
      module: ConsumerModule,
      controllers: [HealthController],
      providers: [
        { provide: Pool, useValue: deps.pool },
        { provide: Redis, useValue: deps.redis },
        { provide: KafkaIngest, useValue: deps.ingest },
      ],
    };
  }
}
