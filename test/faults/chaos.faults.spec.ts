import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Producer } from 'kafkajs';
import { given } from '../../libs/domain/src/testing/given-when-then';
import { redisKeys } from '../../libs/storage/src/redis/redis-layout';
import { AppProcess } from '../support/app-process';
import { TestEnvironment, withDatabase } from '../support/test-environment';
import { waitFor } from '../support/wait-for';
import { diffFullSync } from './compare';
import { readAllDeadLetters } from './dead-letters';
import { ApiAccess, SimulatedClient, pause, summaries } from './sync-clients';
import { planTraffic } from './traffic';

/**
 * Fault injection (issue 4): seeded random traffic over hundreds of users and
 * ~100 channels, interleaved with poison records, flows through two consumer
 * processes and an API while, one after another, a consumer is SIGKILLed and
 * replaced, Redis is flushed, PostgreSQL is restarted and the API is
 * restarted; simulated clients loop on incremental syncs all along. At the end
 * every user's full sync must equal the reference model's (the pure domain
 * applied to the same events), every client's merged view its full sync, the
 * dead-letter topic must hold exactly the poison sent, no client may have seen
 * a 5xx, no app may have exited by itself, and every running consumer must be
 * back in the group. Replay a run with FAULTS_SEED=<seed> npm run test:faults
 * (FAULTS_LOG_LEVEL=debug logs every consumer batch; logs are saved on failure).
 */

const SEED = process.env.FAULTS_SEED ? Number(process.env.FAULTS_SEED) >>> 0 : 20_260_415;
const TRAFFIC = { users: 320, personChannels: 60, groups: 40, batches: 300, eventsPerBatch: 11, poisonRate: 0.04 };
/** Over how long the batches are spread, so faults land mid-stream. */
const TRAFFIC_MS = 70_000;
const SIMULATED_CLIENTS = 20;
const CLIENT_PAUSE_MS = 200;
const FULL_SYNC_MSG_COUNT = 5;
/** When each fault starts, as the fraction of batches produced; they run one after another, never overlapping. */
const FAULT_AT = { killConsumer: 0.15, flushRedis: 0.35, restartPostgres: 0.55, restartApi: 0.75 };
const CONSUMER_LOG_LEVEL = process.env.FAULTS_LOG_LEVEL ?? 'info';
const PG_RESTART = 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main restart';

const run = promisify(execFile);

describe('fault injection: crashes, lost Redis, restarted PostgreSQL and API, poison (faults)', () => {
  const env = new TestEnvironment('faults', 3);
  const started = Date.now();
  /** Every app process this suite started, for their logs and exit codes. */
  const processes: { name: string; app: AppProcess; stopping: boolean }[] = [];
  /** App processes that exited without the suite stopping them. */
  const crashes: string[] = [];
  const consumers: AppProcess[] = [];
  let api: AppProcess;
  let access: ApiAccess;
  let producer: Producer | undefined;
  let stopping = false;

  const at = () => `+${((Date.now() - started) / 1000).toFixed(1)}s`;
  const note = (line: string) => process.stdout.write(`faults ${at()} ${line}\n`);

  async function stopApp(app: AppProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const entry = processes.find((p) => p.app === app);
    if (entry) entry.stopping = true;
    return app.stop(signal);
  }

  async function startApp(app: 'api' | 'consumer', name: string): Promise<AppProcess> {
    // Consumers log at info (or FAULTS_LOG_LEVEL, e.g. debug: one line per batch); the API at warn, not one line per request.
    const child = await AppProcess.start(app, env.appEnv({ LOG_LEVEL: app === 'consumer' ? CONSUMER_LOG_LEVEL : 'warn' }));
    const entry = { name, app: child, stopping: false };
    processes.push(entry);
    void child.waitForExit().then((code) => {
      if (!entry.stopping) {
        crashes.push(`${name} (pid ${child.pid}) exited by itself with code ${code} at ${at()}, during ${access?.phase ?? 'start'}`);
        note(`!! ${crashes[crashes.length - 1]}`);
      }
    });
    return child;
  }

  beforeAll(async () => {
    note(`seed=${SEED} (replay with FAULTS_SEED=${SEED})`);
    await env.setUp();
    const [first, second, firstApi] = await Promise.all([startApp('consumer', 'consumer-1'), startApp('consumer', 'consumer-2'), startApp('api', 'api-1')]);
    consumers.push(first, second);
    api = firstApi;
    access = new ApiAccess(api.url, started);
    producer = env.kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
  }, 120_000);

  afterAll(async () => {
    stopping = true;
    await producer?.disconnect().catch(() => undefined);
    const exits = await Promise.all(processes.map(async ({ name, app }) => `${name}=${await stopApp(app).catch((e) => String(e))}`));
    note(`exit codes (null = killed by the suite): ${exits.join(' ')}`);
    await env.tearDown();
  }, 60_000);

  /** Writes every app's output to a directory under the OS temp dir; returns its path. */
  function saveLogs(): string {
    const logDir = join(tmpdir(), `conversation-sync-faults-${SEED}-${process.pid}`);
    mkdirSync(logDir, { recursive: true });
    for (const { name, app } of processes) writeFileSync(join(logDir, `${name}.log`), app.logs);
    return logDir;
  }

  async function describeGroup(): Promise<{ state: string; members: number }> {
    const admin = env.kafka.admin();
    try {
      await admin.connect();
      const { groups } = await admin.describeGroups([env.groupId]);
      return { state: groups[0]?.state ?? 'unknown', members: groups[0]?.members.length ?? 0 };
    } catch (error) {
      return { state: `unknown (${String(error)})`, members: 0 };
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** How far the consumers are: records covered by the PostgreSQL checkpoints / records in the topic. */
  async function ingestionProgress(): Promise<string> {
    const admin = env.kafka.admin();
    try {
      await admin.connect();
      const ends = await admin.fetchTopicOffsets(env.topic);
      const applied = await withDatabase(env.databaseUrl, (client) =>
        client.query<{ partition: number; next_offset: string }>('SELECT partition, next_offset FROM consumer_checkpoints WHERE group_id = $1', [env.groupId]),
      );
      const byPartition = new Map(applied.rows.map((r) => [r.partition, r.next_offset]));
      return `applied ${ends.map((e) => `p${e.partition} ${byPartition.get(e.partition) ?? 0}/${e.high}`).join(', ')}`;
    } catch (error) {
      return `progress unknown (${String(error)})`;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** Where ingestion stands: PostgreSQL checkpoints, the topic's end offsets, the group, PostgreSQL sessions. */
  async function diagnose(): Promise<string> {
    const lines: string[] = [];
    const admin = env.kafka.admin();
    try {
      await admin.connect();
      const ends = await admin.fetchTopicOffsets(env.topic);
      lines.push(`end offsets: ${JSON.stringify(ends.map((e) => [e.partition, e.high]))}`);
      const [committed] = await admin.fetchOffsets({ groupId: env.groupId, topics: [env.topic] });
      lines.push(`kafka group offsets: ${JSON.stringify(committed?.partitions.map((p) => [p.partition, p.offset]))}`);
      const { groups } = await admin.describeGroups([env.groupId]);
      lines.push(`group: ${groups.map((g) => `${g.state}, members ${g.members.map((m) => m.clientHost + ' ' + m.memberId.slice(-8)).join(', ')}`).join('; ')}`);
    } catch (error) {
      lines.push(`kafka diagnostics failed: ${String(error)}`);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    try {
      await withDatabase(env.databaseUrl, async (client) => {
        const checkpoints = await client.query('SELECT partition, next_offset FROM consumer_checkpoints WHERE group_id = $1 ORDER BY partition', [env.groupId]);
        lines.push(`checkpoints: ${JSON.stringify(checkpoints.rows.map((r) => [r.partition, r.next_offset]))}`);
        const sessions = await client.query(
          `SELECT pid, state, wait_event_type, wait_event, now() - xact_start AS xact_age, left(query, 120) AS query
             FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
        );
        for (const row of sessions.rows) lines.push(`pg session: ${JSON.stringify(row)}`);
      });
    } catch (error) {
      lines.push(`postgres diagnostics failed: ${String(error)}`);
    }
    const readiness = await Promise.all(consumers.map((c) => fetch(`${c.url}/health/ready`).then((r) => r.status, () => 'down')));
    lines.push(`running consumers: ${consumers.map((c, i) => `pid ${c.pid} /health/ready ${readiness[i]}`).join(', ')}`);
    lines.push(`crashed: ${crashes.length === 0 ? 'none' : crashes.join('; ')}`);
    return lines.join('\n');
  }

  it('ends with every sync equal to the reference model, no client left behind, each poison event dead-lettered once, no 5xx', async () => {
    const plan = planTraffic(SEED, TRAFFIC);
    const eventCount = plan.batches.reduce((n, batch) => n + batch.length, 0);
    note(`plan: ${plan.users.length} users, ${plan.channels} channels, ${eventCount} records (${plan.poison.length} poison) in ${plan.batches.length} batches`);
    note(`traffic mix: ${JSON.stringify(plan.counts)}`);

    // --- simulated clients: the busiest users, each looping on incremental syncs ---
    const clients = plan.busiestUsers.slice(0, SIMULATED_CLIENTS).map((uid) => new SimulatedClient(uid));
    const clientErrors: string[] = [];
    let clientsRunning = true;
    const loops = clients.map(async (client) => {
      while (clientsRunning && !stopping) {
        try {
          await client.syncOnce(access);
        } catch (error) {
          clientErrors.push(`${client.uid}: ${String(error)}`);
        }
        await pause(CLIENT_PAUSE_MS);
      }
    });

    // --- traffic: the planned batches, spread over TRAFFIC_MS ---
    let batchesSent = 0;
    const traffic = (async () => {
      const interval = TRAFFIC_MS / plan.batches.length;
      for (const batch of plan.batches) {
        if (stopping) throw new Error('stopped');
        await producer!.send({ topic: env.topic, acks: -1, messages: batch.map((record) => ({ key: record.key, value: record.value })) });
        batchesSent++;
        await pause(interval);
      }
      note(`traffic: all ${plan.batches.length} batches produced; ${await ingestionProgress()}`);
    })();

    // --- faults, one after another while traffic flows ---
    const faults: string[] = [];
    const timeline: string[] = [];
    const progressReaches = (fraction: number) =>
      waitFor(`traffic to reach ${fraction * 100}%`, () => batchesSent >= fraction * plan.batches.length, TRAFFIC_MS * 3);
    const fault = async (name: string, work: () => Promise<string>) => {
      access.phase = name;
      const began = Date.now();
      note(`fault ${name}: begins (batch ${batchesSent}/${plan.batches.length}, ${new Date(began).toISOString()})`);
      const detail = await work();
      timeline.push(`${name} ${new Date(began).toISOString()} +${Date.now() - began}ms ${detail}`);
      note(`fault ${name}: done in ${Date.now() - began} ms ${detail}; ${await ingestionProgress()}`);
      faults.push(name);
      access.phase = 'traffic';
    };
    const injectFaults = (async () => {
      access.phase = 'traffic';
      await progressReaches(FAULT_AT.killConsumer);
      await fault('kill-consumer', async () => {
        const victim = consumers[0];
        await stopApp(victim, 'SIGKILL');
        consumers[0] = await startApp('consumer', 'consumer-3');
        return `(pid ${victim.pid} killed, ${consumers[0].pid} started and in the group)`;
      });

      await progressReaches(FAULT_AT.flushRedis);
      await fault('flush-redis', async () => {
        await env.redis.flushdb();
        const flushed = Date.now();
        // The consumers must rebuild Redis from PostgreSQL by themselves; until then the API answers from PostgreSQL.
        await waitFor('the consumers to rebuild Redis after the flush', async () => (await env.redis.exists(redisKeys.complete)) === 1, 60_000);
        return `(Redis rebuilt by the consumers ${Date.now() - flushed} ms after the flush)`;
      });

      await progressReaches(FAULT_AT.restartPostgres);
      await fault('restart-postgres', async () => {
        await run('bash', ['-c', PG_RESTART], { timeout: 60_000 });
        const restarted = Date.now();
        await waitFor('PostgreSQL to answer after its restart', () => withDatabase(env.databaseUrl, (c) => c.query('SELECT 1')).then(() => true), 60_000);
        return `(answering ${Date.now() - restarted} ms after pg_ctlcluster returned)`;
      });

      await progressReaches(FAULT_AT.restartApi);
      await fault('restart-api', async () => {
        access.restarting = true;
        const old = api;
        const exit = await stopApp(old, 'SIGTERM');
        api = await startApp('api', 'api-2');
        access.switchTo(api.url);
        access.restarting = false;
        return `(old API exited ${exit}; ${access.connectionRetries} connection errors retried so far)`;
      });
    })();

    try {
      await Promise.all([traffic, injectFaults]);
    } catch (error) {
      clientsRunning = false;
      note(`!! ${String(error)}\n${await diagnose()}\nfault timeline:\n  ${timeline.join('\n  ')}\napp logs: ${saveLogs()}`);
      throw error;
    }

    // --- settle: everything produced is applied; each client syncs once more ---
    access.phase = 'settling';
    const settleStart = Date.now();
    let settled = true;
    try {
      await env.waitUntilApplied(60_000);
      note(`all events applied ${Date.now() - settleStart} ms after the traffic ended`);
    } catch (error) {
      // Reported, then the comparisons still run: they show what the stall cost.
      settled = false;
      note(`!! ${String(error)}\n${await diagnose()}\nfault timeline:\n  ${timeline.join('\n  ')}\napp logs: ${saveLogs()}`);
    }

    clientsRunning = false;
    await Promise.all(loops);
    access.phase = 'final syncs';
    for (const client of clients) {
      try {
        await client.syncOnce(access);
      } catch (error) {
        clientErrors.push(`${client.uid} (final): ${String(error)}`);
      }
    }

    // The consumer group: every running consumer is a member again (none left behind, out of the group, after the faults).
    let group = await describeGroup();
    await waitFor('every running consumer to be a member of a stable group', async () => {
      group = await describeGroup();
      return group.state === 'Stable' && group.members === consumers.length;
    }, 20_000).catch(() => undefined);
    const readiness = await Promise.all(consumers.map((c) => fetch(`${c.url}/health/ready`).then((r) => r.status, () => 'down')));
    note(`consumer group: ${group.state}, ${group.members} members for ${consumers.length} running consumers (their /health/ready: ${readiness.join(', ')})`);

    // --- (a) every user's full sync against the reference model ---
    const world = given(plan.events);
    const mismatches: { uid: string; problems: string[] }[] = [];
    let conversationsCompared = 0;
    let messagesCompared = 0;
    let usersWithConversations = 0;
    const queue = [...plan.users];
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        for (let uid = queue.shift(); uid !== undefined; uid = queue.shift()) {
          const actual = await access.sync({ uid, msg_count: FULL_SYNC_MSG_COUNT });
          const expected = world.sync(uid, { msgCount: FULL_SYNC_MSG_COUNT });
          conversationsCompared += expected.length;
          messagesCompared += expected.reduce((n, c) => n + ((c.recents as unknown[] | undefined)?.length ?? 0), 0);
          if (expected.length > 0) usersWithConversations++;
          const problems = diffFullSync(actual, expected);
          if (problems.length > 0) mismatches.push({ uid, problems });
        }
      }),
    );

    // --- (b) every simulated client's merged view against its full sync ---
    const diverged: { uid: string; problems: string[] }[] = [];
    for (const client of clients) {
      const full = summaries(await access.sync({ uid: client.uid }));
      const view = client.view();
      const problems = [...client.cursorViolations.slice(0, 5)];
      if (JSON.stringify(view) !== JSON.stringify(full)) problems.push(...diffViews(view, full));
      if (problems.length > 0) diverged.push({ uid: client.uid, problems });
    }

    // --- (c) the dead-letter topic: each poison record exactly once ---
    const letters = await readAllDeadLetters(env);
    const sent = plan.poison.map((p) => Buffer.from(p.value).toString('base64')).sort();
    const got = letters.map((l) => (l.value ?? Buffer.alloc(0)).toString('base64')).sort();
    const unexpectedLetters = got.filter((value, i) => value !== sent[i]).length;

    // --- report ---
    const serverErrors = access.serverErrors;
    const otherFailures = access.failures.filter((f) => f.kind !== '5xx');
    const incremental = clients.reduce((n, c) => n + c.nonEmptyIncrementalAnswers, 0);
    const syncs = clients.reduce((n, c) => n + c.syncs, 0);
    const tombstones = clients.reduce((n, c) => n + c.tombstones, 0);
    note(
      `faults: seed=${SEED}, events=${eventCount}, poison=${plan.poison.length}, faults=[${faults.join(', ')}], ` +
        `users compared=${plan.users.length} (${usersWithConversations} with conversations, ${conversationsCompared} conversations, ${messagesCompared} recents), ` +
        `mismatches=${mismatches.length}, clients=${clients.length}, diverged=${diverged.length}, 5xx=${serverErrors}, ` +
        `dead letters=${letters.length}, all applied=${settled}, crashes=${crashes.length}, group members=${group.members}/${consumers.length}`,
    );
    note(
      `clients: ${syncs} syncs (${incremental} non-empty incremental answers, ${tombstones} tombstones), statuses ${JSON.stringify(Object.fromEntries(access.statuses))}, ` +
        `${access.connectionRetries} connection errors retried during the API restart, other failures=${otherFailures.length}, client errors=${clientErrors.length}`,
    );
    const failed = !settled || crashes.length > 0 || group.members !== consumers.length || mismatches.length + diverged.length + serverErrors + otherFailures.length + clientErrors.length > 0 || letters.length !== plan.poison.length || unexpectedLetters > 0;
    if (failed) {
      const logDir = saveLogs();
      const report = [
        `fault timeline:`,
        ...timeline.map((line) => `  ${line}`),
        ...mismatches.slice(0, 5).map((m) => `mismatch for ${JSON.stringify(m.uid)}:\n    ${m.problems.slice(0, 8).join('\n    ')}`),
        ...diverged.slice(0, 5).map((d) => `client ${JSON.stringify(d.uid)} diverged:\n    ${d.problems.slice(0, 8).join('\n    ')}`),
        ...access.failures.slice(0, 10).map((f) => `${f.kind} at ${f.at} during ${f.phase}: ${f.detail}`),
        ...clientErrors.slice(0, 5),
        ...crashes.map((c) => `crash: ${c}`),
        `dead letters: ${letters.length} read, ${plan.poison.length} poison sent, ${unexpectedLetters} not matching what was sent`,
        `app logs (warn and above): ${logDir}`,
        ...processes.map(({ name, app }) => `--- ${name} (last lines) ---\n${tail(app.logs, 15)}`),
      ];
      note(report.join('\n'));
    }

    expect({
      faults,
      settled,
      crashes,
      groupMembers: group.members,
      mismatches: mismatches.length,
      diverged: diverged.length,
      serverErrors,
      otherFailures: otherFailures.length,
      clientErrors: clientErrors.length,
      deadLetters: letters.length,
      unexpectedLetters,
    }).toEqual({
      faults: ['kill-consumer', 'flush-redis', 'restart-postgres', 'restart-api'],
      settled: true,
      crashes: [],
      groupMembers: consumers.length,
      mismatches: 0,
      diverged: 0,
      serverErrors: 0,
      otherFailures: 0,
      clientErrors: 0,
      deadLetters: plan.poison.length,
      unexpectedLetters: 0,
    });
    // The run really exercised what it claims to.
    expect(usersWithConversations).toBeGreaterThan(200);
    expect(incremental).toBeGreaterThan(clients.length);
  });
});

function diffViews(view: ReturnType<SimulatedClient['view']>, full: ReturnType<SimulatedClient['view']>): string[] {
  const key = (c: { channel_type: number; channel_id: string }) => JSON.stringify([c.channel_type, c.channel_id]);
  const fullByKey = new Map(full.map((c) => [key(c), c]));
  const viewByKey = new Map(view.map((c) => [key(c), c]));
  const problems: string[] = [];
  for (const [k, f] of fullByKey) {
    const v = viewByKey.get(k);
    if (!v) problems.push(`client lacks ${k}: full sync has ${JSON.stringify(f)}`);
    else if (JSON.stringify(v) !== JSON.stringify(f)) problems.push(`${k}: client has ${JSON.stringify(v)}, full sync ${JSON.stringify(f)}`);
  }
  for (const [k, v] of viewByKey) if (!fullByKey.has(k)) problems.push(`client still has ${k} (${JSON.stringify(v)}), full sync does not`);
  return problems;
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

