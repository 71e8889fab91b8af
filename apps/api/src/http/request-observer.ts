import { Logger } from '@cs/observability';
import { FastifyInstance } from 'fastify';
import { Histogram, Registry } from 'prom-client';

/** One log line and one histogram sample per request: route, status and latency — never bodies or headers. */
export function observeRequests(fastify: FastifyInstance, registry: Registry, log: Logger): void {
  const duration = new Histogram({
    name: 'conversation_sync_http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  fastify.addHook('onResponse', async (request, reply) => {
    const seconds = reply.elapsedTime / 1000;
    const route = request.routeOptions.url ?? 'unmatched';
    duration.observe({ method: request.method, route, status: String(reply.statusCode) }, seconds);
    log.info('request', { method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 100) / 100 });
  });
}
