import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { AppProcess, RunningService } from './support/app-process';
import { TestEnvironment, freePort } from './support/test-environment';
import { waitFor } from './support/wait-for';

const ROOT = join(__dirname, '..');

/** What operators rely on: health, metrics, OpenAPI, gateway identity, config errors, logs. */
describe('operability (e2e)', () => {
  const env = new TestEnvironment('operability');
  let service: RunningService;

  beforeAll(async () => {
    await env.setUp();
    service = await RunningService.start(env, { LOG_LEVEL: 'info', API_TOKEN: 'sesame' });
  });

  afterAll(async () => {
    await service?.stop();
    await env.tearDown();
  });

  const token = { token: 'sesame' };

  it('serves terminus health on both apps', async () => {
    for (const app of [service.api, service.consumer]) {
      const ready = await fetch(`${app.url}/health/ready`);
      expect(ready.status).toBe(200);
      const body = (await ready.json()) as any;
      expect(body.status).toBe('ok');
      expect(Object.keys(body.details)).toEqual(expect.arrayContaining(['postgres', 'redis']));
      expect((await fetch(`${app.url}/health/live`)).status).toBe(200);
    }
  });

  it('exposes the documented Prometheus metrics', async () => {
    const message = (from: string, to: string) => ({ type: 'message', message_id: 1, message_seq: 1, from_uid: from, channel_id: to, channel_type: 1, timestamp: 1, payload: '' });
    // Person channels spread over the partitions, each record keyed by its channel.
    await env.produce([message('op-a', 'op-b'), 'not json', ...['op-c', 'op-d', 'op-e', 'op-f', 'op-g', 'op-h'].map((to) => message('op-a', to))]);
    await env.waitUntilApplied();
    await service.post('/conversation/sync', { uid: 'op-a' }, token);

    // The consumer counts a batch once its apply returns, just after the batch became visible: poll for it.
    const consumerMetrics = await waitFor('the consumer to count the batch', async () => {
      const text = await (await fetch(`${service.consumer.url}/metrics`)).text();
      const counted = /conversation_sync_events_total\{[^}]*type="message"[^}]*\} 7\b/.test(text) && /conversation_sync_dead_letters_total\{app="consumer"\} 1\b/.test(text);
      return counted && text;
    });
    for (const name of [
      'conversation_sync_events_applied_total',
      'conversation_sync_dead_letters_total',
      'conversation_sync_batch_duration_seconds_bucket',
      'conversation_sync_consumer_lag{',
      'process_resident_memory_bytes',
    ]) {
      expect(consumerMetrics).toContain(name);
    }
    expect(consumerMetrics).toMatch(/conversation_sync_dead_letters_total\{app="consumer"\} 1\b/);
    expect(consumerMetrics).toMatch(/conversation_sync_events_total\{[^}]*type="message"[^}]*\} 7\b/);
    // Keyed by channel, as the contract asks: every batch keeps the load it made before the version clock.
    expect(consumerMetrics).toMatch(/conversation_sync_batches_loaded_under_clock_total\{app="consumer"\} 0\b/);

    const apiMetrics = await (await fetch(`${service.api.url}/metrics`)).text();
    expect(apiMetrics).toMatch(/conversation_sync_http_request_duration_seconds_count\{[^}]*route="\/conversation\/sync",status="200"[^}]*\} \d+/);
  });

  it('publishes an OpenAPI document with every endpoint', async () => {
    const response = await fetch(`${service.api.url}/docs-json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as any;
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/conversation/sync', '/conversations/clearUnread', '/conversations/setUnread', '/conversations/delete']),
    );
    const sync = document.paths['/conversation/sync'].post;
    expect(Object.keys(sync.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '413', '503']));
    expect(document.components.schemas.SyncRequestDto.properties.version.format).toBe('int64');
    expect((await fetch(`${service.api.url}/docs`)).status).toBe(200);
  });

  it('logs one JSON line per request with status and latency, never the token', async () => {
    await service.post('/conversation/sync', { uid: 'op-log' }, token);
    const lines = service.api.logs.split('\n').filter((line) => line.startsWith('{'));
    const requestLines = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'request' && entry.route === '/conversation/sync');
    expect(requestLines.length).toBeGreaterThan(0);
    expect(requestLines[0]).toMatchObject({ level: 'info', status: 200, method: 'POST' });
    expect(typeof requestLines[0].ms).toBe('number');
    expect(service.api.logs).not.toContain('sesame');
  });

  it('answers 401 without the gateway user header and 403 for another user when API_USER_HEADER is set', async () => {
    const api = await AppProcess.start('api', env.appEnv({ API_USER_HEADER: 'X-User-Id' }));
    try {
      const post = (headers: Record<string, string>, uid: string) =>
        fetch(`${api.url}/conversation/sync`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ uid }) });
      const missing = await post({}, 'op-a');
      expect(missing.status).toBe(401);
      expect(await missing.json()).toEqual({ msg: 'x-user-id: header required', status: 401 });
      const other = await post({ 'x-user-id': 'op-b' }, 'op-a');
      expect(other.status).toBe(403);
      expect(((await other.json()) as any).msg).toContain('uid');
      expect((await post({ 'x-user-id': 'op-a' }, 'op-a')).status).toBe(200);
    } finally {
      await api.stop();
    }
  });

  it.each([
    ['api', 'API_PORT', 'abc'],
    ['api', 'REDIS_URL', 'http://127.0.0.1:6379'],
    ['api', 'API_USER_HEADER', 'not a header'],
    ['consumer', 'KAFKA_BROKERS', 'localhost'],
    ['consumer', 'DATABASE_URL', 'not a url'],
    ['consumer', 'LOG_LEVEL', 'loud'],
    ['consumer', 'KAFKA_TOPIC', 'bad topic!'],
  ])('%s exits non-zero at once naming a bad %s', (app, variable, value) => {
    const result = spawnSync(process.execPath, [join(ROOT, 'dist', 'apps', app, 'main.js')], {
      env: { PATH: process.env.PATH ?? '', ...env.appEnv(), [variable]: value },
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(variable);
  });

  // Each app forces exit code 1 if its shutdown is not done after 9 s, so 0 means it finished in time.
  it('stops both apps with exit code 0 on SIGTERM', async () => {
    const codes = await Promise.all([service.consumer.stop(), service.api.stop()]);
    expect(codes).toEqual([0, 0]);
  });

  // A process manager signals only the process it started. Through npm, the app must still get
  // the signal, finish its shutdown and hand its status back (npm alone exits at once, orphaning it).
  describe('the documented ways to run the apps stop gracefully when only their own process gets SIGTERM', () => {
    const answers = async (port: number, path = '/health/live') => (await fetch(`http://127.0.0.1:${port}${path}`).catch(() => null))?.status === 200;

    it.each([
      ['start:api', 'api'],
      ['start:consumer', 'consumer'],
    ] as const)('npm run %s', async (script, app) => {
      const started = AppProcess.launch(app, 'npm', ['run', script], env.appEnv({ LOG_LEVEL: 'info' }), await freePort());
      await started.waitUntilReady();
      expect(await started.stop()).toBe(0);
      expect(started.logs).toContain('"msg":"stopped"');
      expect(await answers(started.port)).toBe(false);
    });

    it('npm start (both apps; --no-build: as already built)', async () => {
      const consumerPort = await freePort();
      const both = AppProcess.launch('api', 'npm', ['start', '--', '--no-build'], env.appEnv({ LOG_LEVEL: 'info', CONSUMER_HTTP_PORT: String(consumerPort) }), await freePort());
      await both.waitUntilReady();
      await waitFor('the consumer started by npm start to be ready', () => answers(consumerPort, '/health/ready'), 40_000);
      expect(await both.stop()).toBe(0);
      expect(both.logs.match(/"msg":"stopped"/g)).toHaveLength(2);
      expect([await answers(both.port), await answers(consumerPort)]).toEqual([false, false]);
    });
  });
});
