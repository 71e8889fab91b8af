import { RunningService } from './support/app-process';
import { TestEnvironment, withDatabase } from './support/test-environment';

/** The first vertical slice through both real apps: Kafka -> consumer -> PostgreSQL + Redis -> API. */
describe('foundation (e2e)', () => {
  const env = new TestEnvironment('foundation');
  let service: RunningService;

  beforeAll(async () => {
    await env.setUp();
    service = await RunningService.start(env);
  });

  afterAll(async () => {
    await service?.stop();
    await env.tearDown();
  });

  it('serves a produced message event as a conversation for its sender and recipient', async () => {
    await env.produce([
      {
        type: 'message',
        message_id: 9007199254740993n,
        message_seq: 1,
        client_msg_no: 'first',
        from_uid: 'ann',
        channel_id: 'ben',
        channel_type: 1,
        timestamp: 1_700_000_000,
        payload: 'aGVsbG8=',
      },
    ]);
    await env.waitUntilApplied();

    const [forBen] = await service.sync({ uid: 'ben', msg_count: 1 });
    expect(forBen).toMatchObject({ channel_id: 'ann', channel_type: 1, unread: 1, last_msg_seq: 1, timestamp: 1_700_000_000 });
    expect(typeof forBen.version).toBe('bigint');
    expect(forBen.recents).toHaveLength(1);
    expect(forBen.recents[0].message_id).toBe(9007199254740993n);
    expect(forBen.recents[0].payload).toBe('aGVsbG8=');

    const [forAnn] = await service.sync({ uid: 'ann' });
    expect(forAnn).toMatchObject({ channel_id: 'ben', unread: 0, last_msg_seq: 1, recents: [] });
  });

  it('reports ready on both apps and keeps the checkpoint with the projection', async () => {
    for (const app of [service.api, service.consumer]) {
      const response = await fetch(`${app.url}/health/ready`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ status: 'ok' });
      expect((await fetch(`${app.url}/health/live`)).status).toBe(200);
    }
    const checkpoints = await withDatabase(env.databaseUrl, (client) =>
      client.query('SELECT partition, next_offset FROM consumer_checkpoints WHERE group_id = $1', [env.groupId]),
    );
    expect(checkpoints.rowCount).toBeGreaterThan(0);
  });

  // The apps run at LOG_LEVEL=warn here, and kafkajs' start-up warnings are not silenced by environment.
  it('logs no warning or error on a healthy start', () => {
    for (const app of [service.consumer, service.api]) {
      const noisy = app.logs.split('\n').filter((line) => /"level":"(warn|error)"/.test(line) || (line.trim() !== '' && !line.startsWith('{')));
      expect({ app: app.app, noisy }).toEqual({ app: app.app, noisy: [] });
    }
  });

  it('exits 0 on SIGTERM', async () => {
    const exitCodes = await Promise.all([service.api.stop(), service.consumer.stop()]);
    expect(exitCodes).toEqual([0, 0]);
  });
});
