import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Logger, ObservabilityModule, ReadinessCheck } from '@cs/observability';
import { Registry } from 'prom-client';
import { CommandPublisher } from './conversations/command.publisher';
import { ConversationsController } from './conversations/conversations.controller';
import { ErrorFilter } from './http/error.filter';
import { API_TOKEN } from './http/token.guard';
import { API_USER_HEADER } from './http/user-header.guard';
import { ConversationChannelsController } from './sync/conversation-channels.controller';
import { ConversationChannelsService } from './sync/conversation-channels.service';
import { SyncController } from './sync/sync.controller';
import { SyncService } from './sync/sync.service';

export interface ApiDependencies {
  sync: SyncService;
  channels: ConversationChannelsService;
  commands: CommandPublisher;
  apiToken: string | null;
  userHeader: string | null;
  log: Logger;
  registry: Registry;
  readinessChecks: ReadinessCheck[];
}

/** Thin wiring: controllers over services built in main.ts. */
@Module({})
export class ApiModule {
  static register(deps: ApiDependencies): DynamicModule {
    return {
      module: ApiModule,
      imports: [ObservabilityModule.register(deps.registry, deps.readinessChecks)],
      controllers: [SyncController, ConversationChannelsController, ConversationsController],
      providers: [
        { provide: SyncService, useValue: deps.sync },
        { provide: ConversationChannelsService, useValue: deps.channels },
        { provide: CommandPublisher, useValue: deps.commands },
        { provide: API_TOKEN, useValue: deps.apiToken },
        { provide: API_USER_HEADER, useValue: deps.userHeader },
        { provide: APP_FILTER, useValue: new ErrorFilter(deps.log, deps.registry) },
      ],
    };
  }
}
