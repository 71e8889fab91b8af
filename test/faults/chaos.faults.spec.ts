import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Producer } from 'kafkajs';
import { AppProcess } from '../support/app-process';
import { TestEnvironment, withDatabase } from '../support/test-environment';
import { waitFor } from '../support/wait-for';
import { diffFullSync } from './compare';
import { readAllDeadLetters } from './dead-letters';
import { hasOpenTransaction, kafkaBrokerIsOurs, restartKafkaBroker } from './fault-tools';
import { expectedFullSyncs } from './reference-model';
import { ApiAccess, SimulatedClient, pause, summaries } from './sync-clients';
import { PlannedRecord, planTraffic } from './traffic';

/**
 * Fault injection (issues 4 and 14): seeded random traffic over hundreds of
 * users and ~100 channels, interleaved with poison records, flows through two
 * consumer processes and an API while, one after another: a consumer is
 * SIGKILLed between its PostgreSQL commit and the publication of its closed
 * version, and replaced; a consumer is frozen (SIGSTOP) inside a transaction
 * past its PostgreSQL idle-in-transaction timeout and its Kafka session, then
 * resumed; Redis is flushed while a batch is in flight; PostgreSQL is
 * restarted; the Kafka broker is restarted (the producers wait for it, the
 * consumers and clients carry on); the API is restarted. Then the producers
 * stop, the consumers drain, partitions are added to the topic, and traffic
 * flows again. Simulated clients loop on incremental syncs all along. At the
 * end every user's full sync must equal the fault suite's own reference model
 * (reference-model.ts, written from the contract, not the app's rules), every
 * client's merged view its full sync and its cursor at least the full sync's
 * highest version, the dead-letter topic must hold exactly the poison sent,
 * no client may have seen a 5xx, no app may have exited by itself, and every
 * running consumer must be back in the group. Replay a run with
 * FAULTS_SEED=<seed> npm run test:faults (FAULTS_LOG_LEVEL=debug logs every
 * consumer batch; logs are saved on failure).
 */

const SEED = process.env.FAULTS_SEED ? Number(process.env.FAULTS_SEED) >>> 0 : 20_260_415;
const TRAFFIC = { users: 320, personChannels: 60, groups: 40, batches: 300, eventsPerBatch: 11, poisonRate: 0.04, hotShare: 0.15 };
/** Batches produced after the partitions were added (the rest before). */
const BATCHES_AFTER_REPARTITION = 50;
/** Over how long the batches before the repartition are spread, so faults land mid-stream; the ones after go at the same pace. */
const TRAFFIC_MS = 60_000;
const SIMULATED_CLIENTS = 20;
const CLIENT_PAUSE_MS = 200;
const FULL_SYNC_MSG_COUNT = 5;
/** The minimum, so the hot channels' windows let go of messages. */
const RECENT_MESSAGES_KEPT = 50;
/** When each fault starts, as the fraction of batches produced; they run one after another, never overlapping. */
const FAULT_AT = { killBeforePublish: 0.08, freezeConsumer: 0.18, flushRedis: 0.4, restartPostgres: 0.5, restartKafka: 0.62, restartApi: 0.8 };
const EXPECTED_FAULTS = ['kill-before-publish', 'freeze-consumer', 'flush-redis', 'restart-postgres', 'restart-kafka', 'restart-api', 'add-partitions'];
/** The victim of kill-before-publish waits this long after each commit before publishing (CS_TEST_PAUSE_BEFORE_PUBLISH_MS). */
const PAUSE_BEFORE_PUBLISH_MS = 400;
const PAUSED_LINE = 'paused before publishing closed version';
/** PostgreSQL ends a session idle in a transaction this long; the frozen consumer stays stopped well past it and past its Kafka session (10 s). */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 3_000;
const FREEZE_MS = 13_000;
const PARTITIONS_BEFORE = 3;
const PARTITIONS_AFTER = 5;
const CONSUMER_LOG_LEVEL = process.env.FAULTS_LOG_LEVEL ?? 'info';
const PG_RESTART = 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main restart';

const run = promisify(execFile);

describe('fault injection: crashes, frozen and lost processes, lost Redis, restarted PostgreSQL, Kafka and API, new partitions, poison (faults)', () => {
  const env = new TestEnvironment('faults', PARTITIONS_BEFORE);
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

  async function startApp(app: 'api' | 'consumer', name: string, extra: Record<string, string> = {}): Promise<AppProcess> {
    // Consumers log at info (or FAULTS_LOG_LEVEL, e.g. debug: one line per batch); the API at warn, not one line per request.
    const settings = app === 'consumer' ? consumerEnv() : { LOG_LEVEL: 'warn' };
    const child = await AppProcess.start(app, env.appEnv({ RECENT_MESSAGES_KEPT: String(RECENT_MESSAGES_KEPT), ...settings, ...extra }));
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

  /**
   * Consumers end a transaction left idle (a frozen process) after
   * IDLE_IN_TRANSACTION_TIMEOUT_MS: PostgreSQL's own setting through the URL's
   * options, and the consumer's setting where it has one.
   */
  function consumerEnv(): Record<string, string> {
    const url = new URL(env.databaseUrl);
    url.searchParams.set('options', `-c idle_in_transaction_session_timeout=${IDLE_IN_TRANSACTION_TIMEOUT_MS}`);
    return { LOG_LEVEL: CONSUMER_LOG_LEVEL, DATABASE_URL: url.toString(), PG_IDLE_IN_TRANSACTION_TIMEOUT_MS: String(IDLE_IN_TRANSACTION_TIMEOUT_MS) };
  }

  beforeAll(async () => {
    note(`seed=${SEED} (replay with FAULTS_SEED=${SEED})`);
    await env.setUp();
    const [first, second, firstApi] = await Promise.all([
      // consumer-1 is the victim of kill-before-publish: it pauses after each commit.
      startApp('consumer', 'consumer-1', { CS_TEST_PAUSE_BEFORE_PUBLISH_MS: String(PAUSE_BEFORE_PUBLISH_MS), LOG_LEVEL: 'debug' }),
      startApp('consumer', 'consumer-2'),
      startApp('api', 'api-1'),
    ]);
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

    // --- traffic: the planned batches, spread over TRAFFIC_MS; the last ones wait for the repartition ---
    const before = plan.batches.slice(0, plan.batches.length - BATCHES_AFTER_REPARTITION);
    const after = plan.batches.slice(before.length);
    const interval = TRAFFIC_MS / before.length;
    let batchesSent = 0;
    /** Set while the broker restarts: the producers wait (a send retried across it could land twice), nothing else does. */
    let producerGate: Promise<void> | null = null;
    let producerBusy = false;
    const produce = async (batches: PlannedRecord[][]) => {
      for (const batch of batches) {
        if (stopping) throw new Error('stopped');
        while (producerGate) await producerGate;
        producerBusy = true;
        try {
          await producer!.send({ topic: env.topic, acks: -1, messages: batch.map((record) => ({ key: record.key, value: record.value })) });
        } finally {
          producerBusy = false;
        }
        batchesSent++;
        await pause(interval);
      }
    };
    const traffic = (async () => {
      await produce(before);
      note(`traffic: ${before.length} batches produced before the repartition; ${await ingestionProgress()}`);
    })();

    // --- faults, one after another while traffic flows ---
    const faults: string[] = [];
    const timeline: string[] = [];
    const progressReaches = (fraction: number) =>
      waitFor(`traffic to reach ${fraction * 100}%`, () => batchesSent >= fraction * before.length, TRAFFIC_MS * 3);
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
      await progressReaches(FAULT_AT.killBeforePublish);
      await fault('kill-before-publish', async () => {
        const victim = consumers[0];
        // The consumer logs PAUSED_LINE after a batch's commit and then waits PAUSE_BEFORE_PUBLISH_MS
        // before publishing its closed version (CS_TEST_PAUSE_BEFORE_PUBLISH_MS): the kill lands in that gap.
        const seen = victim.logs.length;
        await waitFor('the victim to pause before publishing', () => victim.logs.indexOf(PAUSED_LINE, seen) >= 0, 8_000);
        const pausedAt = Date.now();
        const stopped = stopApp(victim, 'SIGKILL');
        const killedAfterMs = Date.now() - pausedAt;
        await stopped;
        if (killedAfterMs >= PAUSE_BEFORE_PUBLISH_MS) throw new Error(`kill-before-publish: the kill took ${killedAfterMs} ms, past the ${PAUSE_BEFORE_PUBLISH_MS} ms pause`);
        consumers[0] = await startApp('consumer', 'consumer-3');
        const where = `at the hook, ${killedAfterMs} ms into its ${PAUSE_BEFORE_PUBLISH_MS} ms pause between its commit and the publication of its closed version`;
        return `(pid ${victim.pid} killed ${where}, ${consumers[0].pid} started and in the group)`;
      });

      await progressReaches(FAULT_AT.freezeConsumer);
      await fault('freeze-consumer', async () => {
        const victim = consumers[1];
        const inTransaction = await waitFor('the victim to be inside a transaction', () => hasOpenTransaction(victim.pid, env.databaseUrl), 10_000).then(
          () => true,
          () => false,
        );
        process.kill(victim.pid, 'SIGSTOP');
        await pause(FREEZE_MS);
        process.kill(victim.pid, 'SIGCONT');
        const where = inTransaction ? 'inside a transaction' : 'between transactions (none seen within 10 s)';
        return `(pid ${victim.pid} stopped ${where} for ${FREEZE_MS} ms, past PostgreSQL's ${IDLE_IN_TRANSACTION_TIMEOUT_MS} ms and its Kafka session, then resumed)`;
      });

      await progressReaches(FAULT_AT.flushRedis);
      await fault('flush-redis', async () => {
        const inTransaction = await waitFor('a batch in flight', async () => {
          for (const consumer of consumers) if (await hasOpenTransaction(consumer.pid, env.databaseUrl)) return true;
          return false;
        }, 10_000).then(
          () => true,
          () => false,
        );
        await env.flushRedis();
        const flushed = Date.now();
        // The consumers must rebuild Redis from PostgreSQL by themselves; until then the API answers from PostgreSQL.
        await waitFor('the consumers to rebuild Redis after the flush', () => env.redisIsComplete(), 60_000);
        return `(flushed ${inTransaction ? 'while a batch was in flight' : 'between batches'}; rebuilt by the consumers ${Date.now() - flushed} ms after)`;
      });

      await progressReaches(FAULT_AT.restartPostgres);
      await fault('restart-postgres', async () => {
        await run('bash', ['-c', PG_RESTART], { timeout: 60_000 });
        const restarted = Date.now();
        await waitFor('PostgreSQL to answer after its restart', () => withDatabase(env.databaseUrl, (c) => c.query('SELECT 1')).then(() => true), 60_000);
        return `(answering ${Date.now() - restarted} ms after pg_ctlcluster returned)`;
      });

      await progressReaches(FAULT_AT.restartKafka);
      await fault('restart-kafka', async () => {
        if (!(await kafkaBrokerIsOurs())) {
          throw new Error('restart-kafka restarts only a broker scripts/services.sh started; the one on KAFKA_BROKERS is not (point KAFKA_BROKERS at a free port and run npm run services:up)');
        }
        let open!: () => void;
        producerGate = new Promise((resolve) => (open = resolve));
        await waitFor('the producer to finish its send', () => !producerBusy, 30_000);
        const stopped = Date.now();
        try {
          await restartKafkaBroker();
        } finally {
          producerGate = null;
          open();
        }
        return `(broker back after ${Date.now() - stopped} ms; producers waited, consumers and clients carried on)`;
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

    const failWith = async (error: unknown) => {
      clientsRunning = false;
      note(`!! ${String(error)}\n${await diagnose()}\nfault timeline:\n  ${timeline.join('\n  ')}\napp logs: ${saveLogs()}`);
      throw error;
    };
    await Promise.all([traffic, injectFaults]).catch(failWith);

    // --- the producers stopped: the consumers drain, partitions are added, traffic again ---
    let recordsOnAddedPartitions = 0;
    await fault('add-partitions', async () => {
      await env.waitUntilApplied(120_000);
      const admin = env.kafka.admin();
      await admin.connect();
      try {
        await admin.createPartitions({ topicPartitions: [{ topic: env.topic, count: PARTITIONS_AFTER }] });
        // A producer partitions by the metadata it has: a new one spreads the keys over every partition.
        await producer!.disconnect();
        producer = env.kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
        await producer.connect();
        await produce(after);
        const ends = await admin.fetchTopicOffsets(env.topic);
        recordsOnAddedPartitions = ends.filter((end) => end.partition >= PARTITIONS_BEFORE).reduce((n, end) => n + Number(end.high), 0);
      } finally {
        await admin.disconnect();
      }
      return `(${PARTITIONS_BEFORE} -> ${PARTITIONS_AFTER} partitions after the consumers drained, then ${after.length} more batches, ${recordsOnAddedPartitions} records on the new partitions)`;
    }).catch(failWith);

    // --- settle: everything produced is applied; each client syncs once more ---
    access.phase = 'settling';
    const settleStart = Date.now();
    let settled = true;
    try {
      await env.waitUntilApplied(90_000);
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

    // --- (a) every user's full sync against the suite's own reference model ---
    const model = expectedFullSyncs(plan.events, { recentMessagesKept: RECENT_MESSAGES_KEPT, msgCount: FULL_SYNC_MSG_COUNT });
    const mismatches: { uid: string; problems: string[] }[] = [];
    let conversationsCompared = 0;
    let messagesCompared = 0;
    let usersWithConversations = 0;
    const queue = [...plan.users];
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        for (let uid = queue.shift(); uid !== undefined; uid = queue.shift()) {
          const actual = await access.sync({ uid, msg_count: FULL_SYNC_MSG_COUNT });
          const expected = model.get(uid) ?? [];
          conversationsCompared += expected.length;
          messagesCompared += expected.reduce((n, c) => n + c.recents.length, 0);
          if (expected.length > 0) usersWithConversations++;
          const problems = diffFullSync(actual, expected);
          if (problems.length > 0) mismatches.push({ uid, problems });
        }
      }),
    );

    // --- (b) every simulated client's merged view against its full sync ---
    const diverged: { uid: string; problems: string[] }[] = [];
    for (const client of clients) {
      const answer = await access.sync({ uid: client.uid });
      const full = summaries(answer);
      const view = client.view();
      const problems = [...client.cursorViolations.slice(0, 5)];
      // Safety of the cursor: caught up, the client's highest version covers everything the full sync shows.
      const highest = answer.reduce((max, c) => (BigInt(c.version) > max ? BigInt(c.version) : max), 0n);
      if (highest > client.cursor) problems.push(`cursor ${client.cursor} below the full sync's highest version ${highest}`);
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
      faults: EXPECTED_FAULTS,
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
    expect(recordsOnAddedPartitions).toBeGreaterThan(0);
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

