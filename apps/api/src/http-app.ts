import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { ApiDependencies, ApiModule } from './api.module';
import { publishApiDocs } from './http/api-docs';
import { MAX_BODY_BYTES, useExactJsonBodies } from './http/exact-json-body';
import { observeRequests } from './http/request-observer';

/** The API's HTTP app over its services: exact JSON bodies, request metrics, the controllers and the OpenAPI pages. */
export async function createApiApp(deps: ApiDependencies): Promise<NestFastifyApplication> {
  // On SIGTERM: idle keep-alive connections close at once, requests already arriving are still answered (drain, not 503).
  const adapter = new FastifyAdapter({ bodyLimit: MAX_BODY_BYTES, forceCloseConnections: 'idle', return503OnClosing: false });
  useExactJsonBodies(adapter.getInstance());
  observeRequests(adapter.getInstance(), deps.registry, deps.log);
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.register(deps), adapter, { logger: false, bodyParser: false, abortOnError: false });
  publishApiDocs(app);
  return app;
}
