import { DynamicModule, Module } from '@nestjs/common';
import { ObservabilityModule, ReadinessCheck } from '@cs/observability';
import { Registry } from 'prom-client';

/** Thin wiring: the consumer's HTTP side is health and metrics only; ingestion is built in main.ts. */
@Module({})
export class ConsumerModule {
  static register(registry: Registry, readinessChecks: ReadinessCheck[]): DynamicModule {
    return { module: ConsumerModule, imports: [ObservabilityModule.register(registry, readinessChecks)] };
  }
}
