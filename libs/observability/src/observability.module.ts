import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { Registry } from 'prom-client';
import { HealthController, READINESS_CHECKS, ReadinessCheck } from './health';
import { MetricsController } from './metrics';

/** /health/live, /health/ready and /metrics for an app. */
@Module({})
export class ObservabilityModule {
  static register(registry: Registry, readinessChecks: ReadinessCheck[]): DynamicModule {
    return {
      module: ObservabilityModule,
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: Registry, useValue: registry },
        { provide: READINESS_CHECKS, useValue: readinessChecks },
      ],
    };
  }
}
