import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Logger } from '@cs/config';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { CommandPublisher } from './conversations/command.publisher';
import { ConversationsController } from './conversations/conversations.controller';
import { HealthController } from './health/health.controller';
import { ErrorFilter } from './http/error.filter';
import { API_TOKEN } from './http/token.guard';
import { SyncController } from './sync/sync.controller';
import { SyncService } from './sync/sync.service';

export interface ApiDependencies {
  pool: Pool;
  redis: Redis;
  sync: SyncService;
  commands: CommandPublisher;
  apiToken: string | null;
  log: Logger;
}

/** Thin wiring: controllers over services built in main.ts. */
@Module({})
export class ApiModule {
  static register(deps: ApiDependencies): DynamicModule {
    return {
      module: ApiModule,
      controllers: [SyncController, ConversationsController, HealthController],
      providers: [
        { provide: Pool, useValue: deps.pool },
        { provide: Redis, useValue: deps.redis },
        { provide: SyncService, useValue: deps.sync },
        { provide: CommandPublisher, useValue: deps.commands },
        { provide: API_TOKEN, useValue: deps.apiToken },
        { provide: APP_FILTER, useValue: new ErrorFilter(deps.log) },
      ],
    };
  }
}
