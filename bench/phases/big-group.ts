import { Producer } from 'kafkajs';
import { channelKeyOf } from '../../libs/domain/src/channel-keys';
import { parseExactJson } from '../../test/support/json';
import { BatchFigures, batchStats, diffBatches } from '../lib/consumer-metrics';
import { DrainFigures, round, roundDrain } from '../lib/figures';
import { endOffsets, measureDrain, produceAll, recordsBetween } from '../lib/kafka-tools';
import { log } from '../lib/progress';
import { post } from '../lib/sync-rig';
import { Traffic, TrafficCounts, conversationRead, subscribersAdded } from '../lib/traffic';
import { BIG_GROUP_PARTITION, REGULAR_PARTITIONS, SharedWorld } from '../world';
import { SharedPhase } from './phase';

const BIG_GROUP = 'big-group';
const BIG_GROUP_KEY = channelKeyOf(2, '', BIG_GROUP);

export interface BacklogRunFigures extends DrainFigures {
  produced: TrafficCounts;
  batches: BatchFigures | null;
  consumerFrozenSeconds: number;
}

export interface BigGroupResult {
  members: number;
  joinSeconds: number;
  /** the big group's messages per second, live */
  rate: number;
  messagesSent: number;
  latestSeq: number;
  withoutBigGroup: BacklogRunFigures;
  withBigGroup: BacklogRunFigures & { bigGroupLagAtEnd: number | undefined };
  /** with / without */
  ratio: number;
  sampleChecked: number;
  sampleExact: number;
  mismatches: string[];
}

/**
 * Phase 5: a group of `bigGroupMembers`; two more ingest runs of the regular
 * traffic, without and with the big group receiving `bigGroupRate` messages/s
 * live; then a sample of members checked exact.
 */
export const bigGroupPhase: SharedPhase<'bigGroup'> = {
  name: 'big-group',
  result: 'bigGroup',
  world: 'shared',
  inRuns: ['quick', 'full'],
  run: runBigGroup,
};

async function runBigGroup(world: SharedWorld): Promise<BigGroupResult> {
  const { settings, producer, env } = world;
  world.rss.phase = 'big-group';
  log('\n[5] big group');
  const members = Array.from({ length: settings.bigGroupMembers }, (_, i) => `bg-${i.toString().padStart(5, '0')}`);
  const joinStarted = performance.now();
  await producer.send({ topic: env.topic, acks: -1, messages: [{ partition: BIG_GROUP_PARTITION, key: BIG_GROUP_KEY, value: subscribersAdded(BIG_GROUP, 2, members) }] });
  await world.waitApplied(`${members.length} members join`);
  const joinSeconds = (performance.now() - joinStarted) / 1000;

  const without = await backlogRun(world, 'no big group', 'ingest-2');
  await world.checkpointMemory('afterBigGroupWithout');
  const live = new LiveBigGroup(producer, env.topic, world.traffic, members[0], settings.bigGroupRate);
  world.stoppables.add(live);
  const withBig = await backlogRun(world, `big group ${settings.bigGroupRate} msg/s`, 'ingest-3-big-group', live);
  world.stoppables.delete(live);
  await world.waitApplied('consumer applies the rest');
  await world.checkpointMemory('afterBigGroupWith');

  const sample = pickSample(members, settings.bigGroupSample);
  const mismatches = await checkSample(world, members[0], sample, live.seq);
  for (const line of mismatches.slice(0, 5)) log(`    mismatch ${line}`);
  log(`    without ${Math.round(without.rate)}/s, with ${Math.round(withBig.rate)}/s; ${sample.length - mismatches.length}/${sample.length} syncs exact`);
  return {
    members: members.length,
    joinSeconds: round(joinSeconds, 2),
    rate: settings.bigGroupRate,
    messagesSent: live.produced,
    latestSeq: live.seq,
    withoutBigGroup: without,
    withBigGroup: withBig as BigGroupResult['withBigGroup'],
    ratio: round(withBig.rate / without.rate, 3),
    sampleChecked: sample.length,
    sampleExact: sample.length - mismatches.length,
    mismatches,
  };
}

/**
 * One ingest run of the regular traffic. The consumer is frozen (SIGSTOP)
 * while the backlog is written, so it then drains at full speed as in phase
 * 2; kept well under its 10 s Kafka session, so it stays in the group.
 */
async function backlogRun(world: SharedWorld, label: string, phase: string, live?: LiveBigGroup): Promise<BacklogRunFigures & { bigGroupLagAtEnd?: number }> {
  const { admin, env, consumer } = world;
  world.rss.phase = phase;
  const run = world.traffic.regular(world.settings.messages);
  const before = await endOffsets(admin, env.topic);
  const batchesBefore = await batchStats(consumer.url);
  process.kill(consumer.pid, 'SIGSTOP');
  world.consumerPaused = true;
  const pausedAt = performance.now();
  try {
    await produceAll(world.producer, env.topic, run.records, `produce backlog (${label})`);
  } finally {
    live?.start();
    process.kill(consumer.pid, 'SIGCONT');
    world.consumerPaused = false;
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
      world.assertAppsAlive();
      const now = await world.applied();
      if (live) bigGroupLagAtEnd = live.produced - recordsBetween(before, now, [BIG_GROUP_PARTITION]);
      return recordsBetween(before, now, REGULAR_PARTITIONS, runEnds);
    },
    started: Promise.resolve(resumedAt),
    pid: consumer.pid,
  });
  await live?.stop();
  world.rss.phase = 'big-group';
  const batches = diffBatches(await batchStats(consumer.url), batchesBefore);
  return { produced: run.counts, ...roundDrain(drain), batches, consumerFrozenSeconds: pausedSeconds, ...(live ? { bigGroupLagAtEnd } : {}) };
}

/** Exactness: the sender, readers at half the seqs, and members who never read. */
async function checkSample(world: SharedWorld, sender: string, sample: string[], latestSeq: number): Promise<string[]> {
  const readTo = Math.floor(latestSeq / 2);
  const readers = sample.filter((_, i) => i > 0 && i % 4 === 1);
  await world.producer.send({
    topic: world.env.topic,
    acks: -1,
    messages: readers.map((uid) => ({ partition: BIG_GROUP_PARTITION, key: BIG_GROUP_KEY, value: conversationRead(uid, BIG_GROUP, 2, readTo) })),
  });
  await world.waitApplied('consumer applies reads');
  const syncUrl = `${world.api.url}/conversation/sync`;
  const mismatches: string[] = [];
  for (const uid of sample) {
    const expectedUnread = uid === sender ? 0 : readers.includes(uid) ? latestSeq - readTo : latestSeq;
    const list = parseExactJson(await post(syncUrl, JSON.stringify({ uid, msg_count: 1 }))) as { channel_id: string; channel_type: number; last_msg_seq: number; unread: number; recents?: { message_seq: number }[] }[];
    const conversation = list.find((c) => c.channel_id === BIG_GROUP && c.channel_type === 2);
    const got = conversation ? { last_msg_seq: conversation.last_msg_seq, unread: conversation.unread, recent: conversation.recents?.[0]?.message_seq } : null;
    const want = { last_msg_seq: latestSeq, unread: expectedUnread, recent: latestSeq };
    if (JSON.stringify(got) !== JSON.stringify(want)) mismatches.push(`${uid}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
  return mismatches;
}

function pickSample(members: string[], size: number): string[] {
  const step = Math.max(1, Math.floor(members.length / size));
  const sample: string[] = [];
  for (let i = 0; i < members.length && sample.length < size; i += step) sample.push(members[i]);
  return sample; // members[0] (the sender) first
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
