/**
 * `npm run bench [-- --quick] [-- --profile]`: the performance benchmark of
 * issue 5. Brings its own topic, database and Redis db (TestEnvironment),
 * runs the real consumer and API (built dist) as child processes, measures
 * every figure next to its baseline in the same run, prints a table and
 * writes bench/results/latest.json (+ a dated copy). Not a test: it exits 0
 * when targets are missed (non-zero only when it could not run).
 *
 * Phases: 1 set-up · 2 ingest (+ bare kafkajs baseline) · 3 full sync
 * (+ bare Fastify baseline) · 4 incremental sync · 5 big group · 6 memory
 * (sampled throughout) · report.
 */
import { ChildProcess, fork } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Admin, Producer } from 'kafkajs';
import { channelKeyOf } from '../libs/domain/src/channel-keys';
import { AppProcess } from '../test/support/app-process';
import { parseExactJson } from '../test/support/json';
import { TestEnvironment, freePort } from '../test/support/test-environment';
import { Checkpoints, DrainResult, endOffsets, measureDrain, produceAll, recordsBetween, sleep, whenGroupStable } from './lib/kafka-tools';
import { createPool } from '../libs/storage/src/postgres/database';
import { createRedis } from '../libs/storage/src/redis/redis-layout';
import Redis from 'ioredis';
import { FloorResult, dropFloor, measureFloor } from './lib/floor';
import { LoadGenerator, LoadResult } from './lib/http-load';
import { Progress, log } from './lib/progress';
import { Figure, gitInfo, machineInfo, printTable } from './lib/report';
import { CpuPerEvent, RssSampler, cpuPerEventUs } from './lib/rss';
import { OutRecord, Traffic, conversationRead, subscribersAdded } from './lib/traffic';
import { summarize } from './profile-summary';
import { runStoragePhase, storageFigures } from './storage';
import { largeAccountFigures, runLargeAccountPhase } from './phases/large-account';

const ROOT = join(__dirname, '..');
const BENCH = __dirname;
const RESULTS = join(ROOT, 'bench', 'results');
const TMP = join(RESULTS, 'tmp');

const REGULAR_PARTITIONS = [0, 1, 2];
const BIG_GROUP_PARTITION = 3;
const ALL_PARTITIONS = 4;

interface MemoryCheckpoint {
  eventsApplied: number;
  consumer: number | null;
  api: number | null;
}

interface Settings {
  mode: 'quick' | 'full';
  /** message events per ingest run (three runs: phase 2, and phase 5 without and with the big group) */
  messages: number;
  users: number;
  personPairs: number;
  groups: number;
  fullSyncConversations: number;
  messagesPerConversation: number;
  connections: number;
  /** requests/s offered when measuring sync latency: WuKongIM's published 1,286 req/s, rounded up to the throughput target */
  latencyRate: number;
  /** seconds of each load at latencyRate */
  latencySeconds: number;
  loadSeconds: number;
  warmupSeconds: number;
  bigGroupMembers: number;
  bigGroupRate: number;
  bigGroupSample: number;
}

const QUICK: Settings = {
  mode: 'quick',
  messages: 30_000,
  users: 5_000,
  personPairs: 5_000,
  groups: 500,
  fullSyncConversations: 200,
  messagesPerConversation: 3,
  connections: 32,
  latencyRate: 1_300,
  latencySeconds: 5,
  loadSeconds: 10,
  warmupSeconds: 2,
  bigGroupMembers: 10_000,
  bigGroupRate: 100,
  bigGroupSample: 20,
};

const FULL: Settings = {
  ...QUICK,
  mode: 'full',
  messages: 150_000,
  users: 20_000,
  personPairs: 20_000,
  groups: 2_000,
  loadSeconds: 30,
  latencySeconds: 20,
  warmupSeconds: 3,
  bigGroupSample: 50,
};

const FULL_SYNC_USER = 'bench-user';
const BIG_GROUP = 'big-group';
const BIG_GROUP_KEY = channelKeyOf(2, '', BIG_GROUP);

async function main(): Promise<number> {
  const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : null;
  if (only === 'storage') return storageOnly();
  if (only === 'large-account') return largeAccountOnly();
  if (only !== null) throw new Error(`--only ${only}: the phases that run alone are: storage, large-account`);
  const args = new Set(process.argv.slice(2));
  const settings: Settings = { ...(args.has('--quick') ? QUICK : FULL) };
  for (const arg of args) {
    const messages = /^--messages=(\d+)$/.exec(arg);
    if (messages) settings.messages = Number(messages[1]);
  }
  const profile = args.has('--profile');
  const ingestOnly = args.has('--ingest-only');
  const runStarted = Date.now();
  const stamp = new Date(runStarted).toISOString().replace(/[:.]/g, '-');
  const profileDir = join(TMP, `profiles-${stamp}`);
  mkdirSync(TMP, { recursive: true });

  const env = new TestEnvironment('bench', ALL_PARTITIONS);
  const rss = new RssSampler();
  const extraEnv: Record<string, string> = profile
    ? { NODE_OPTIONS: `--require ${join(BENCH, 'children', 'cpu-profile-preload.js')}`, BENCH_CPU_PROF_DIR: profileDir }
    : {};
  const state: {
    admin?: Admin;
    producer?: Producer;
    checkpoints?: Checkpoints;
    api?: AppProcess;
    consumer?: AppProcess;
    consumerPaused: boolean;
    children: ChildProcess[];
    extraGroups: string[];
    live?: LiveBigGroup;
    files: string[];
  } = { consumerPaused: false, children: [], extraGroups: [], files: [] };

  let cleaned = false;
  const cleanUp = async () => {
    if (cleaned) return;
    cleaned = true;
    rss.stop();
    await state.live?.stop().catch(() => undefined);
    if (state.consumer && state.consumerPaused) process.kill(state.consumer.pid, 'SIGCONT');
    for (const child of state.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.all([state.consumer?.stop(), state.api?.stop()].map((p) => p?.catch(() => undefined)));
    await Promise.all(state.children.map((child) => (child.exitCode === null && child.signalCode === null ? new Promise((r) => child.once('exit', r)) : null)));
    await state.producer?.disconnect().catch(() => undefined);
    await state.checkpoints?.close();
    if (state.admin) {
      if (state.extraGroups.length > 0) await state.admin.deleteGroups(state.extraGroups).catch(() => undefined);
      await state.admin.disconnect().catch(() => undefined);
    }
    await env.tearDown().catch((error) => log(`tear-down: ${String(error)}`));
    for (const file of state.files) rmSync(file, { force: true });
  };
  // Last resort if the bench dies: no child outlives it (a frozen consumer is thawed first).
  // Only pids whose exit we have not seen yet, so a reused pid is never signalled.
  const alive = new Set<number>();
  let appDied: string | null = null;
  const watch = (name: string, pid: number, exited: Promise<unknown>) => {
    alive.add(pid);
    void exited.then((code) => {
      alive.delete(pid);
      if (!cleaned && appDied === null) appDied = `the ${name} (pid ${pid}) exited with ${String(code)} during the run`;
    });
  };
  /** Fails the run at once when an app under test died, instead of waiting for a timeout. */
  const assertAppsAlive = () => {
    if (appDied) throw new Error(appDied);
  };
  process.on('exit', () => {
    for (const pid of alive) {
      try {
        process.kill(pid, 'SIGCONT');
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  });
  process.on('uncaughtException', (error) => {
    log(`\nbench crashed: ${error.stack ?? String(error)}`);
    void cleanUp().finally(() => process.exit(1));
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`\n${signal}: stopping everything the bench started…`);
      void cleanUp().finally(() => process.exit(130));
    });
  }

  const results: Record<string, any> = {
    bench: 'conversation-sync',
    mode: settings.mode,
    date: new Date(runStarted).toISOString(),
    git: gitInfo(),
    machine: machineInfo(),
    settings,
  };

  let postgresStartedAt: string | null = null;
  try {
    // ---- 1. an isolated world: topic (4 partitions: 0..2 regular traffic, 3 the big group), database, Redis db
    log(`bench (${settings.mode}): topic ${env.topic}, database ${env.databaseName}`);
    await env.setUp();
    results.environment = { topic: env.topic, database: env.databaseName, redisDb: env.redisDb, partitions: ALL_PARTITIONS };
    const admin = (state.admin = env.kafka.admin());
    await admin.connect();
    const producer = (state.producer = env.kafka.producer({ allowAutoTopicCreation: false }));
    await producer.connect();
    const appEnv = env.appEnv(extraEnv);
    rss.start();
    rss.phase = 'start-up';
    const api = (state.api = AppProcess.spawn('api', appEnv, await freePort()));
    watch('api', api.pid, api.waitForExit());
    rss.track('api', api.pid);
    await api.waitUntilReady(60_000); // it creates and migrates the database
    const checkpoints = (state.checkpoints = new Checkpoints(env.databaseUrl, env.groupId, env.topic));
    postgresStartedAt = await checkpoints.postgresStartedAt();
    const applied = async () => checkpoints.read().catch(() => new Map<number, bigint>());
    const appliedTotal = async () => [...(await applied()).values()].reduce((a, b) => a + Number(b), 0);
    const memoryNow = async (): Promise<MemoryCheckpoint> => {
      const { mb } = rss.sample();
      return { eventsApplied: await appliedTotal(), consumer: mb.consumer ?? null, api: mb.api ?? null };
    };
    const waitApplied = async (label: string) => {
      const ends = await endOffsets(admin, env.topic);
      const start = await applied();
      const total = recordsBetween(start, ends, [...ends.keys()]);
      const bar = new Progress(label, total, ' records');
      const deadline = Date.now() + 300_000;
      for (;;) {
        const now = await applied();
        bar.update(total - recordsBetween(now, ends, [...ends.keys()]));
        assertAppsAlive();
        if ([...ends].every(([p, end]) => end === 0n || (now.get(p) ?? 0n) >= end)) break;
        if (Date.now() > deadline) throw new Error(`${label}: the consumer did not catch up in 300 s`);
        await sleep(50);
      }
      bar.done();
    };
    const traffic = new Traffic({
      users: settings.users,
      personPairs: settings.personPairs,
      groups: settings.groups,
      regularPartitions: REGULAR_PARTITIONS.length,
      seed: 20251125,
    });

    // ---- 2. ingest: backlog first, then the consumer; then the bare kafkajs baseline over the same records
    rss.phase = 'ingest-1';
    log('\n[2] ingest');
    const backlog = traffic.regular(settings.messages);
    const produceSeconds = await produceAll(producer, env.topic, backlog.records, 'produce backlog');
    const ends = await endOffsets(admin, env.topic);
    const ingestTotal = recordsBetween(new Map(), ends, REGULAR_PARTITIONS);
    const spawnedAt = performance.now();
    const consumer = (state.consumer = AppProcess.spawn('consumer', appEnv, await freePort()));
    watch('consumer', consumer.pid, consumer.waitForExit());
    rss.track('consumer', consumer.pid);
    const consumerReady = consumer.waitUntilReady(60_000);
    consumerReady.catch(() => undefined);
    const groupStable = whenGroupStable(admin, env.groupId);
    const ingest = await measureDrain({
      label: 'consumer applies backlog',
      total: ingestTotal,
      progress: async () => {
        assertAppsAlive();
        return recordsBetween(new Map(), await applied(), REGULAR_PARTITIONS, ends);
      },
      started: groupStable,
      pid: consumer.pid,
    });
    await consumerReady;
    const batchesAfterIngest = diffBatches(await batchStats(consumer.url), { batches: 0, seconds: 0, events: 0 });
    const consumerStartSeconds = ((await groupStable) - spawnedAt) / 1000;
    const afterIngest = await memoryNow();

    rss.phase = 'ingest-baseline';
    const baselineGroup = `${env.groupId}-baseline`;
    state.extraGroups.push(baselineGroup);
    const baselineIngest = await runBaselineConsumer(admin, env, baselineGroup, ingestTotal, state.children);
    rss.phase = 'ingest-floor';
    const floor = await runFloor(env, backlog.records);
    results.ingest = {
      produced: backlog.counts,
      produceSeconds: round(produceSeconds, 2),
      consumerStartSeconds: round(consumerStartSeconds, 2),
      consumer: { ...roundDrain(ingest), batches: batchesAfterIngest },
      bareKafkajs: roundDrain(baselineIngest),
      ratio: round(ingest.rate / baselineIngest.rate, 3),
      floor: { ...floor, seconds: round(floor.seconds, 3), rate: round(floor.rate, 0) },
    };
    log(`    consumer ${Math.round(ingest.rate)}/s, bare kafkajs ${Math.round(baselineIngest.rate)}/s`);
    log(`    CPU per event (µs): ${JSON.stringify(cpuPerEvent(ingest))}; bare kafkajs: ${JSON.stringify(cpuPerEvent(baselineIngest))}`);
    log(`    floor (least durable work, no rules, no Kafka): ${Math.round(floor.rate)}/s, CPU per event (µs): ${JSON.stringify(floor.cpuPerEventUs)}`);
    if (ingestOnly) {
      log(`    batches: ${JSON.stringify(batchesAfterIngest)}, consumer CPU ${ingest.cpuSeconds ?? "?"} s`);
      results.probe = 'ingest-only';
      return 0;
    }

    // ---- 3. full sync: one user with 200 conversations, 32 connections; baseline: bare Fastify with the same bytes
    rss.phase = 'full-sync';
    log('\n[3] full sync');
    const seed = fullSyncSeed(traffic, settings);
    await produceAll(producer, env.topic, seed, `seed ${settings.fullSyncConversations} conversations`);
    await waitApplied('consumer applies seed');
    const syncUrl = `${api.url}/conversation/sync`;
    const fullBody = JSON.stringify({ uid: FULL_SYNC_USER, msg_count: 1 });
    const fullAnswer = await post(syncUrl, fullBody);
    const fullList = parseExactJson(fullAnswer) as { version: bigint | number; recents: unknown[] }[];
    if (!Array.isArray(fullList) || fullList.length !== settings.fullSyncConversations) {
      throw new Error(`full sync answered ${Array.isArray(fullList) ? fullList.length : 'no list'} conversations, expected ${settings.fullSyncConversations}`);
    }
    const highestVersion = fullList.reduce((max, c) => (BigInt(c.version) > max ? BigInt(c.version) : max), 0n);
    const incrementalBody = `{"uid":${JSON.stringify(FULL_SYNC_USER)},"version":${highestVersion},"msg_count":1}`;
    const incrementalAnswer = await post(syncUrl, incrementalBody);
    if (incrementalAnswer.trim() !== '[]') throw new Error(`incremental sync with the latest version answered ${incrementalAnswer.slice(0, 200)}`);
    const fullFile = join(TMP, `full-answer-${process.pid}.json`);
    const incrementalFile = join(TMP, `incremental-answer-${process.pid}.json`);
    state.files.push(fullFile, incrementalFile);
    writeFileSync(fullFile, fullAnswer);
    writeFileSync(incrementalFile, incrementalAnswer);

    const generator = await LoadGenerator.start(state.children);
    const saturate = (serverPid: number | undefined) => ({ connections: settings.connections, seconds: settings.loadSeconds, serverPid });
    const paced = (serverPid: number | undefined) => ({ ...saturate(serverPid), seconds: settings.latencySeconds, rate: settings.latencyRate, warmupSeconds: 1 });
    const warmUp = { connections: settings.connections, seconds: settings.warmupSeconds };
    await generator.run('warm-up (API)', syncUrl, fullBody, warmUp);
    const fullSync = await generator.run('full sync (API)', syncUrl, fullBody, saturate(api.pid));
    const fullSyncPaced = await generator.run(`full sync at ${settings.latencyRate}/s (API)`, syncUrl, fullBody, paced(api.pid));
    const afterFullSync = await memoryNow();
    const server = await startBaselineServer(fullFile, incrementalFile, state.children);
    const serverUrl = `${server.url}/conversation/sync`;
    if ((await post(serverUrl, fullBody)) !== fullAnswer) throw new Error('the baseline server does not answer the same bytes');
    await generator.run('warm-up (bare Fastify)', serverUrl, fullBody, warmUp);
    const fullSyncBaseline = await generator.run('full sync (bare Fastify)', serverUrl, fullBody, saturate(server.child.pid));
    const fullSyncBaselinePaced = await generator.run(`full sync at ${settings.latencyRate}/s (bare Fastify)`, serverUrl, fullBody, paced(server.child.pid));
    results.fullSync = {
      conversations: fullList.length,
      answerBytes: Buffer.byteLength(fullAnswer),
      api: roundLoad(fullSync),
      bareFastify: roundLoad(fullSyncBaseline),
      ratio: round(fullSync.rps / fullSyncBaseline.rps, 3),
      apiAtLatencyRate: roundLoad(fullSyncPaced),
      bareFastifyAtLatencyRate: roundLoad(fullSyncBaselinePaced),
    };
    log(`    API ${Math.round(fullSync.rps)} req/s p99 ${fullSync.p99Ms} ms; bare Fastify ${Math.round(fullSyncBaseline.rps)} req/s p99 ${fullSyncBaseline.p99Ms} ms`);
    log(`    at ${settings.latencyRate} req/s: API p99 ${fullSyncPaced.p99Ms} ms; bare Fastify p99 ${fullSyncBaselinePaced.p99Ms} ms`);

    // ---- 4. incremental sync with nothing new
    rss.phase = 'incremental-sync';
    log('\n[4] incremental sync, nothing new');
    const incremental = await generator.run('incremental sync (API)', syncUrl, incrementalBody, saturate(api.pid));
    const incrementalPaced = await generator.run(`incremental at ${settings.latencyRate}/s (API)`, syncUrl, incrementalBody, paced(api.pid));
    const incrementalBaseline = await generator.run('incremental (bare Fastify)', serverUrl, incrementalBody, saturate(server.child.pid));
    const incrementalBaselinePaced = await generator.run(`incremental at ${settings.latencyRate}/s (bare Fastify)`, serverUrl, incrementalBody, paced(server.child.pid));
    server.child.kill('SIGTERM');
    generator.stop();
    results.incrementalSync = {
      version: highestVersion.toString(),
      answer: incrementalAnswer,
      api: roundLoad(incremental),
      bareFastify: roundLoad(incrementalBaseline),
      ratio: round(incremental.rps / incrementalBaseline.rps, 3),
      apiAtLatencyRate: roundLoad(incrementalPaced),
      bareFastifyAtLatencyRate: roundLoad(incrementalBaselinePaced),
    };
    log(`    API ${Math.round(incremental.rps)} req/s p99 ${incremental.p99Ms} ms; bare Fastify p99 ${incrementalBaseline.p99Ms} ms`);
    log(`    at ${settings.latencyRate} req/s: API p99 ${incrementalPaced.p99Ms} ms; bare Fastify p99 ${incrementalBaselinePaced.p99Ms} ms`);

    // ---- 5. a group of 10,000 members receiving 100 messages/s while the rest of the traffic is ingested
    rss.phase = 'big-group';
    log('\n[5] big group');
    const members = Array.from({ length: settings.bigGroupMembers }, (_, i) => `bg-${i.toString().padStart(5, '0')}`);
    const joinStarted = performance.now();
    await producer.send({
      topic: env.topic,
      acks: -1,
      messages: [{ partition: BIG_GROUP_PARTITION, key: BIG_GROUP_KEY, value: subscribersAdded(BIG_GROUP, 2, members) }],
    });
    await waitApplied(`${members.length} members join`);
    const joinSeconds = (performance.now() - joinStarted) / 1000;

    const backlogRun = async (label: string, phase: string, live?: LiveBigGroup) => {
      rss.phase = phase;
      const run = traffic.regular(settings.messages);
      const before = await endOffsets(admin, env.topic);
      const batchesBefore = await batchStats(consumer.url);
      // Freeze the consumer while the backlog is written, so it then drains at full speed (same as
      // phase 2). Kept well under its 10 s Kafka session, so it stays in the group.
      process.kill(consumer.pid, 'SIGSTOP');
      state.consumerPaused = true;
      const pausedAt = performance.now();
      try {
        await produceAll(producer, env.topic, run.records, `produce backlog (${label})`);
      } finally {
        live?.start();
        process.kill(consumer.pid, 'SIGCONT');
        state.consumerPaused = false;
      }
      const resumedAt = performance.now();
      const pausedSeconds = round((resumedAt - pausedAt) / 1000, 2);
      if (pausedSeconds > 8) log(`    warning: the consumer was frozen ${pausedSeconds} s; a rejoin may be in the figure`);
      const runEnds = await endOffsets(admin, env.topic);
      let bigGroupLagAtEnd: number | undefined;
      const drain = await measureDrain({
        label: `consumer applies backlog (${label})`,
        total: recordsBetween(before, runEnds, REGULAR_PARTITIONS),
        progress: async () => {
          assertAppsAlive();
          const now = await applied();
          const done = recordsBetween(before, now, REGULAR_PARTITIONS, runEnds);
          if (live) bigGroupLagAtEnd = live.produced - recordsBetween(before, now, [BIG_GROUP_PARTITION]);
          return done;
        },
        started: Promise.resolve(resumedAt),
        pid: consumer.pid,
      });
      await live?.stop();
      rss.phase = 'big-group';
      const batches = diffBatches(await batchStats(consumer.url), batchesBefore);
      return { drain, counts: run.counts, pausedSeconds, batches, bigGroupLagAtEnd, bigGroupSent: live?.produced };
    };

    const withoutBigGroup = await backlogRun('no big group', 'ingest-2');
    const afterWithout = await memoryNow();
    const live = (state.live = new LiveBigGroup(producer, env.topic, traffic, members[0], settings.bigGroupRate));
    const withBigGroup = await backlogRun(`big group ${settings.bigGroupRate} msg/s`, 'ingest-3-big-group', live);
    state.live = undefined;
    await waitApplied('consumer applies the rest');
    const afterWith = await memoryNow();

    // Exactness: a sample of members (the sender, readers at half the seqs, and members who never read).
    const latestSeq = live.seq;
    const sample = pickSample(members, settings.bigGroupSample);
    const readTo = Math.floor(latestSeq / 2);
    const readers = sample.filter((_, i) => i > 0 && i % 4 === 1);
    await producer.send({
      topic: env.topic,
      acks: -1,
      messages: readers.map((uid) => ({ partition: BIG_GROUP_PARTITION, key: BIG_GROUP_KEY, value: conversationRead(uid, BIG_GROUP, 2, readTo) })),
    });
    await waitApplied('consumer applies reads');
    const mismatches: string[] = [];
    for (const uid of sample) {
      const expectedUnread = uid === members[0] ? 0 : readers.includes(uid) ? latestSeq - readTo : latestSeq;
      const list = parseExactJson(await post(syncUrl, JSON.stringify({ uid, msg_count: 1 }))) as any[];
      const conversation = list.find((c) => c.channel_id === BIG_GROUP && c.channel_type === 2);
      const got = conversation
        ? { last_msg_seq: conversation.last_msg_seq, unread: conversation.unread, recent: conversation.recents?.[0]?.message_seq }
        : null;
      const want = { last_msg_seq: latestSeq, unread: expectedUnread, recent: latestSeq };
      if (JSON.stringify(got) !== JSON.stringify(want)) mismatches.push(`${uid}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    }
    for (const line of mismatches.slice(0, 5)) log(`    mismatch ${line}`);
    results.bigGroup = {
      members: members.length,
      joinSeconds: round(joinSeconds, 2),
      rate: settings.bigGroupRate,
      messagesSent: live.produced,
      latestSeq,
      withoutBigGroup: {
        produced: withoutBigGroup.counts,
        ...roundDrain(withoutBigGroup.drain),
        batches: withoutBigGroup.batches,
        consumerFrozenSeconds: withoutBigGroup.pausedSeconds,
      },
      withBigGroup: {
        produced: withBigGroup.counts,
        ...roundDrain(withBigGroup.drain),
        batches: withBigGroup.batches,
        consumerFrozenSeconds: withBigGroup.pausedSeconds,
        bigGroupLagAtEnd: withBigGroup.bigGroupLagAtEnd,
      },
      ratio: round(withBigGroup.drain.rate / withoutBigGroup.drain.rate, 3),
      sampleChecked: sample.length,
      sampleExact: sample.length - mismatches.length,
      mismatches,
    };
    log(`    without ${Math.round(withoutBigGroup.drain.rate)}/s, with ${Math.round(withBigGroup.drain.rate)}/s; ${sample.length - mismatches.length}/${sample.length} syncs exact`);

    // ---- 6. memory (sampled every 500 ms throughout)
    rss.phase = 'end';
    const atEnd = await memoryNow();
    // Growth with events: the consumer's peak during the second ingest run (same traffic, after
    // twice the events) against its peak during the first; the end-of-run reading is kept too.
    const peaks = {
      'ingest-1': rss.max('consumer', 'ingest-1'),
      'ingest-2': rss.max('consumer', 'ingest-2'),
      'ingest-3-big-group': rss.max('consumer', 'ingest-3-big-group'),
    };
    const first = peaks['ingest-1'] ?? 0;
    const second = peaks['ingest-2'] ?? 0;
    const grows = second > first * 1.25 && second - first > 30;
    results.memory = {
      maxMb: { consumer: rss.max('consumer'), api: rss.max('api') },
      consumerPeakMbPerIngestRun: peaks,
      checkpoints: { afterIngest, afterFullSync, afterBigGroupWithout: afterWithout, afterBigGroupWith: afterWith, atEnd },
      consumerGrowsWithEvents: grows,
      samples: rss.samples,
    };

    // ---- 7. storage growth with bounded retention (its own topic, database and Redis db)
    if (settings.mode === 'full') {
      log('\n[7] storage');
      results.storage = await runStoragePhase();
    }

    // ---- report
    const figures = [...buildFigures(results), ...(results.storage ? storageFigures(results.storage) : [])];
    results.figures = figures;
    results.durationSeconds = round((Date.now() - runStarted) / 1000, 1);
    const postgresNow = await checkpoints.postgresStartedAt().catch(() => checkpoints.postgresStartedAt()).catch(() => null);
    results.postgresRestartedDuringRun = postgresNow !== postgresStartedAt;
    if (results.postgresRestartedDuringRun) log('warning: PostgreSQL was restarted during the run (by something else): figures may be off');
    results.machine.loadAverageAtEnd = machineInfo().loadAverage;
    const table = printTable(figures);
    process.stdout.write(`\nconversation-sync bench (${settings.mode}) — ${results.date}, ${results.git.short}${results.git.dirty ? '+dirty' : ''}, ` +
      `${results.machine.nproc} cores, node ${process.version}, ${results.durationSeconds} s\n\n${table}\n`);
    const passed = figures.filter((f) => f.pass === true).length;
    const judged = figures.filter((f) => f.pass !== null).length;
    process.stdout.write(`\n${passed}/${judged} targets met.\n`);
    if (results.postgresRestartedDuringRun) process.stdout.write('Note: PostgreSQL was restarted during the run (by something else on the machine): figures may be off.\n');
    return 0;
  } catch (error) {
    results.error = error instanceof Error ? error.stack ?? error.message : String(error);
    log(`\nbench failed: ${results.error}`);
    const restartedAt = await state.checkpoints
      ?.postgresStartedAt()
      .catch(() => state.checkpoints?.postgresStartedAt())
      .catch(() => null);
    if (restartedAt && postgresStartedAt && restartedAt !== postgresStartedAt) {
      results.postgresRestartedDuringRun = true;
      log(`PostgreSQL was restarted during the run (at ${restartedAt}, by something else)`);
    }
    if (state.consumer) log(`--- consumer output (tail) ---\n${state.consumer.logs.slice(-3000)}`);
    if (state.api) log(`--- api output (tail) ---\n${state.api.logs.slice(-3000)}`);
    return 1;
  } finally {
    await cleanUp();
    if (profile) results.profiles = summarizeProfiles(profileDir);
    writeResults(results);
  }
}

/** `npm run bench -- --only storage`: the storage phase alone, saved beside the full runs (never as latest.json). */
async function storageOnly(): Promise<number> {
  const date = new Date().toISOString();
  const results: Record<string, any> = { bench: 'conversation-sync', mode: 'storage-only', date, git: gitInfo(), machine: machineInfo() };
  log('bench (storage only)');
  results.storage = await runStoragePhase();
  results.figures = storageFigures(results.storage);
  results.machine.loadAverageAtEnd = machineInfo().loadAverage;
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, `${date.slice(0, 10)}-${results.git.short}-storage.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\n${printTable(results.figures)}\n\nresults: ${file}\n`);
  return 0;
}

/** `npm run bench -- --only large-account`: the large-account phase alone, saved beside the full runs (never as latest.json). */
async function largeAccountOnly(): Promise<number> {
  const date = new Date().toISOString();
  const results: Record<string, any> = { bench: 'conversation-sync', mode: 'large-account-only', date, git: gitInfo(), machine: machineInfo() };
  log('bench (large account only)');
  results.largeAccount = await runLargeAccountPhase();
  results.figures = largeAccountFigures(results.largeAccount);
  results.machine.loadAverageAtEnd = machineInfo().loadAverage;
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, `${date.slice(0, 10)}-${results.git.short}-large-account.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\n${printTable(results.figures)}\n\nresults: ${file}\n`);
  return 0;
}

/** The bare kafkajs consumer in a child process, measured like the real one (group stable → every record seen). */
async function runBaselineConsumer(admin: Admin, env: TestEnvironment, groupId: string, total: number, children: ChildProcess[]): Promise<DrainResult> {
  const child = fork(join(BENCH, 'children', 'baseline-consumer.ts'), [env.appEnv().KAFKA_BROKERS, env.topic, groupId], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: ['-r', join(BENCH, 'ts-register.js')],
  });
  children.push(child);
  let count = 0;
  let exited: string | null = null;
  child.on('message', (message: { count: number }) => (count = message.count));
  child.once('exit', (code) => (exited = `baseline consumer exited with ${code}`));
  try {
    return await measureDrain({
      label: 'bare kafkajs reads the same',
      total,
      progress: () => {
        if (exited && count < total) throw new Error(exited);
        return count;
      },
      started: whenGroupStable(admin, groupId),
      pid: child.pid,
    });
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)));
  }
}

/** The ingest floor (bench/lib/floor.ts) over the same records, in the bench's database and Redis db; its tables and keys are dropped after. */
async function runFloor(env: TestEnvironment, records: OutRecord[]): Promise<FloorResult> {
  log('    floor: the least durable work per event, same records (a few seconds)…');
  const pool = createPool(env.databaseUrl);
  // The floor is measured against a single Redis.
  const redis = createRedis(env.redisUrl) as Redis;
  try {
    return await measureFloor(pool, redis, records);
  } finally {
    await dropFloor(pool, redis).catch(() => undefined);
    await pool.end();
    redis.disconnect();
  }
}

async function startBaselineServer(fullFile: string, incrementalFile: string, children: ChildProcess[]): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = fork(join(BENCH, 'children', 'baseline-server.ts'), [String(port), fullFile, incrementalFile], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: ['-r', join(BENCH, 'ts-register.js')],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`baseline server exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

/** Sends the big group's messages live at `rate`/s to its own partition (sender: one member). */
class LiveBigGroup {
  seq = 0;
  produced = 0;
  private timer?: NodeJS.Timeout;
  private inFlight: Promise<void> = Promise.resolve();
  private started = 0;
  private sending = false;

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly traffic: Traffic,
    private readonly sender: string,
    private readonly rate: number,
  ) {}

  start(): void {
    this.started = performance.now();
    this.timer = setInterval(() => this.tick(), 20);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  private tick(): void {
    if (this.sending) return;
    const due = Math.floor(((performance.now() - this.started) / 1000) * this.rate) - this.seq;
    if (due <= 0) return;
    const values: string[] = [];
    for (let i = 0; i < due; i++) values.push(this.traffic.message(++this.seq, this.sender, BIG_GROUP, 2));
    this.sending = true;
    this.inFlight = this.producer
      .send({ topic: this.topic, acks: -1, messages: values.map((value) => ({ partition: BIG_GROUP_PARTITION, key: BIG_GROUP_KEY, value })) })
      .then(() => {
        this.produced += values.length;
      })
      .finally(() => (this.sending = false));
  }
}

/** One user's 200 person channels, a few messages each (the peer writes first and last, so each has unread 1). */
function fullSyncSeed(traffic: Traffic, settings: Settings): OutRecord[] {
  const records: OutRecord[] = [];
  for (let i = 0; i < settings.fullSyncConversations; i++) {
    const peer = `bench-peer-${i.toString().padStart(3, '0')}`;
    const key = channelKeyOf(1, FULL_SYNC_USER, peer);
    const partition = traffic.partitionOf(key);
    for (let seq = 1; seq <= settings.messagesPerConversation; seq++) {
      const fromPeer = seq % 2 === 1;
      const value = fromPeer ? traffic.message(seq, peer, FULL_SYNC_USER, 1) : traffic.message(seq, FULL_SYNC_USER, peer, 1);
      records.push({ partition, key, value });
    }
  }
  return records;
}

function pickSample(members: string[], size: number): string[] {
  const step = Math.max(1, Math.floor(members.length / size));
  const sample: string[] = [];
  for (let i = 0; i < members.length && sample.length < size; i += step) sample.push(members[i]);
  return sample; // members[0] (the sender) first
}

async function post(url: string, body: string): Promise<string> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`POST ${url} answered ${response.status}: ${text.slice(0, 300)}`);
  return text;
}

function buildFigures(r: Record<string, any>): Figure[] {
  const ingestRate = r.ingest.consumer.rate;
  const ingestBase = r.ingest.bareKafkajs.rate;
  const full = r.fullSync.api as LoadResult;
  const fullBase = r.fullSync.bareFastify as LoadResult;
  const inc = r.incrementalSync.api as LoadResult;
  const incBase = r.incrementalSync.bareFastify as LoadResult;
  const fullPaced = r.fullSync.apiAtLatencyRate as LoadResult;
  const fullBasePaced = r.fullSync.bareFastifyAtLatencyRate as LoadResult;
  const incPaced = r.incrementalSync.apiAtLatencyRate as LoadResult;
  const incBasePaced = r.incrementalSync.bareFastifyAtLatencyRate as LoadResult;
  const big = r.bigGroup;
  const memory = r.memory;
  return [
    {
      id: 'ingest_events_per_s',
      figure: 'ingest (events/s, Kafka → visible)',
      unit: '/s',
      measured: ingestRate,
      baseline: ingestBase,
      ratio: r.ingest.ratio,
      target: '≥ 20,000/s and ≥ 0.5× bare kafkajs',
      pass: ingestRate >= 20_000 && r.ingest.ratio >= 0.5,
    },
    {
      id: 'ingest_cpu_us_per_event',
      figure: 'ingest CPU per event, all processes (µs)',
      unit: 'µs',
      measured: r.ingest.consumer.cpuPerEventUs?.total ?? null,
      baseline: r.ingest.bareKafkajs.cpuPerEventUs?.total ?? null,
      ratio: null,
      target: '',
      pass: null,
    },
    {
      id: 'ingest_floor_events_per_s',
      figure: 'ingest floor: least durable work, no rules (events/s)',
      unit: '/s',
      measured: r.ingest.consumer.rate,
      baseline: r.ingest.floor.rate,
      ratio: round(r.ingest.consumer.rate / r.ingest.floor.rate, 3),
      target: '',
      pass: null,
    },
    {
      id: 'full_sync_rps',
      figure: 'full sync 200 conv., 32 conn. (req/s)',
      unit: '/s',
      measured: full.rps,
      baseline: fullBase.rps,
      ratio: r.fullSync.ratio,
      target: '≥ 1,300/s and ≥ 0.5× bare Fastify',
      pass: full.rps >= 1_300 && r.fullSync.ratio >= 0.5 && full.non2xx === 0 && full.errors === 0,
    },
    {
      id: 'full_sync_p99_ms',
      figure: 'full sync p99 (32 conn., back to back)',
      unit: 'ms',
      measured: full.p99Ms,
      baseline: fullBase.p99Ms,
      ratio: null,
      target: '≤ 25 ms',
      pass: full.p99Ms <= 25,
    },
    {
      id: 'full_sync_p99_at_rate_ms',
      figure: `full sync p99 at ${fmtRate(fullPaced)} req/s offered`,
      unit: 'ms',
      measured: fullPaced.p99Ms,
      baseline: fullBasePaced.p99Ms,
      ratio: null,
      target: '',
      pass: null,
    },
    {
      id: 'incremental_sync_p99_ms',
      figure: 'incremental, nothing new, p99 (32 conn.)',
      unit: 'ms',
      measured: inc.p99Ms,
      baseline: incBase.p99Ms,
      ratio: null,
      target: '≤ 10 ms',
      pass: inc.p99Ms <= 10 && inc.non2xx === 0 && inc.errors === 0,
    },
    {
      id: 'incremental_sync_p99_at_rate_ms',
      figure: `incremental p99 at ${fmtRate(incPaced)} req/s offered`,
      unit: 'ms',
      measured: incPaced.p99Ms,
      baseline: incBasePaced.p99Ms,
      ratio: null,
      target: '',
      pass: null,
    },
    {
      id: 'incremental_sync_rps',
      figure: 'incremental sync (req/s)',
      unit: '/s',
      measured: inc.rps,
      baseline: incBase.rps,
      ratio: r.incrementalSync.ratio,
      target: '',
      pass: null,
    },
    {
      id: 'big_group_ingest_ratio',
      figure: `ingest with a ${big.members}-member group at ${big.rate} msg/s`,
      unit: '/s',
      measured: big.withBigGroup.rate,
      baseline: big.withoutBigGroup.rate,
      ratio: big.ratio,
      target: 'drop < 20% (≥ 0.8× without)',
      pass: big.ratio >= 0.8,
    },
    {
      id: 'big_group_syncs_exact',
      figure: 'big group: sampled members exact',
      unit: '',
      measured: `${big.sampleExact}/${big.sampleChecked}`,
      baseline: null,
      ratio: null,
      target: 'all exact',
      pass: big.sampleExact === big.sampleChecked,
    },
    {
      id: 'consumer_rss_max_mb',
      figure: 'consumer max RSS',
      unit: 'MB',
      measured: memory.maxMb.consumer,
      baseline: null,
      ratio: null,
      target: '< 300 MB',
      pass: memory.maxMb.consumer !== null && memory.maxMb.consumer < 300,
    },
    {
      id: 'api_rss_max_mb',
      figure: 'API max RSS',
      unit: 'MB',
      measured: memory.maxMb.api,
      baseline: null,
      ratio: null,
      target: '< 300 MB',
      pass: memory.maxMb.api !== null && memory.maxMb.api < 300,
    },
    {
      id: 'consumer_rss_growth',
      figure: `consumer RSS peak, ingest run 1 → 2 (${fmtK(memory.checkpoints.afterIngest.eventsApplied)} → ${fmtK(memory.checkpoints.afterBigGroupWithout.eventsApplied)} events)`,
      unit: '',
      measured: `${memory.consumerPeakMbPerIngestRun['ingest-1']} → ${memory.consumerPeakMbPerIngestRun['ingest-2']} MB`,
      baseline: null,
      ratio: null,
      target: 'no growth (< +25%)',
      pass: !memory.consumerGrowsWithEvents,
    },
  ];
}

function writeResults(results: Record<string, any>): void {
  mkdirSync(RESULTS, { recursive: true });
  const text = `${JSON.stringify(results, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`;
  if (results.error || results.probe) {
    // A run that did not finish, or a probe of one phase, keeps latest.json as it was.
    const partial = join(TMP, `${results.probe ?? 'failed'}-${String(results.date).replace(/[:.]/g, '-')}.json`);
    writeFileSync(partial, text);
    log(`\n${results.probe ? 'probe' : 'incomplete'} results: ${partial}`);
    return;
  }
  const latest = join(RESULTS, 'latest.json');
  writeFileSync(latest, text);
  const day = String(results.date).slice(0, 10);
  const dated = join(RESULTS, `${day}-${results.git.short}${results.mode === 'quick' ? '-quick' : ''}.json`);
  copyFileSync(latest, dated);
  log(`\nresults: ${latest}\n         ${dated}`);
}

function summarizeProfiles(directory: string): Record<string, string> {
  const summaries: Record<string, string> = {};
  let files: string[] = [];
  try {
    files = readdirSync(directory).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    log(`no profiles in ${directory}`);
  }
  for (const file of files) {
    try {
      const text = summarize(JSON.parse(readFileSync(join(directory, file), 'utf8')), 30);
      writeFileSync(join(directory, `${file}.txt`), `${text}\n`);
      summaries[file] = join(directory, file);
      log(`\n=== profile ${file} ===\n${text}`);
    } catch (error) {
      log(`profile ${file}: ${String(error)}`);
    }
  }
  return summaries;
}

function roundDrain(d: DrainResult) {
  return {
    records: d.records,
    seconds: round(d.seconds, 3),
    rate: round(d.rate, 0),
    steadyRate: d.steadyRate === null ? null : round(d.steadyRate, 0),
    cpuSeconds: d.cpuSeconds === null ? null : round(d.cpuSeconds, 2),
    coresBusy: d.cpuSeconds === null ? null : round(d.cpuSeconds / d.seconds, 2),
    cpuPerEventUs: cpuPerEvent(d),
  };
}

/** µs of CPU per record in the measured process and in each service over the drain: what bounds the rate on 2 cores. */
function cpuPerEvent(d: DrainResult): CpuPerEvent | null {
  return d.cpuSeconds === null || d.servicesCpu === null ? null : cpuPerEventUs(d.records, d.cpuSeconds, d.servicesCpu);
}

interface BatchStats {
  batches: number;
  seconds: number;
  events: number;
}

/** The consumer's own batch metrics (Prometheus text at /metrics); null if it does not expose them. */
async function batchStats(consumerUrl: string): Promise<BatchStats | null> {
  try {
    const text = await (await fetch(`${consumerUrl}/metrics`)).text();
    const value = (name: string) => {
      const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
      return match ? Number(match[1]) : null;
    };
    const batches = value('conversation_sync_batch_duration_seconds_count');
    const seconds = value('conversation_sync_batch_duration_seconds_sum');
    const events = value('conversation_sync_events_applied_total');
    if (batches === null || seconds === null || events === null) return null;
    return { batches, seconds, events };
  } catch {
    return null;
  }
}

function diffBatches(after: BatchStats | null, before: BatchStats | null) {
  if (!after || !before) return null;
  const batches = after.batches - before.batches;
  return {
    batches,
    events: after.events - before.events,
    eventsPerBatch: batches > 0 ? Math.round((after.events - before.events) / batches) : null,
    msPerBatch: batches > 0 ? round(((after.seconds - before.seconds) * 1000) / batches, 1) : null,
  };
}

function roundLoad(l: LoadResult): LoadResult {
  return { ...l, rps: round(l.rps, 1), seconds: round(l.seconds, 2) };
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function fmtRate(l: LoadResult): string {
  return (l.offeredRate ?? 0).toLocaleString('en-US');
}

function fmtK(n: number): string {
  return n >= 1000 ? `${Math.round(n / 1000)}k` : String(n);
}

main().then(
  (code) => process.exit(code),
  (error) => {
    log(`bench crashed: ${String(error)}`);
    process.exit(1);
  },
);
