import { Admin, CompressionTypes, Producer } from 'kafkajs';
import { Client } from 'pg';
import { OutRecord } from './traffic';
import { Progress } from './progress';
import { ServicesCpu, cpuSeconds, servicesCpuSeconds, servicesCpuSince } from './rss';

/**
 * Writes records fast and in order: one sequential stream of batches per
 * partition, the partitions in parallel (a channel lives on one partition, so
 * its events keep their order). Batches of 700 records (~200 KB) stay well
 * under the broker's 1 MB record-batch limit, and are small enough that one
 * consumer fetch (1 MiB per partition) holds several of them, as it would
 * with ordinary producers: the consumer's batch size is not set by the bench.
 */
export async function produceAll(producer: Producer, topic: string, records: OutRecord[], label: string, batchSize = 700): Promise<number> {
  const byPartition = new Map<number, OutRecord[]>();
  for (const record of records) {
    let list = byPartition.get(record.partition);
    if (!list) byPartition.set(record.partition, (list = []));
    list.push(record);
  }
  const bar = new Progress(label, records.length, ' records');
  const started = performance.now();
  let sent = 0;
  await Promise.all(
    [...byPartition].map(async ([partition, list]) => {
      for (let i = 0; i < list.length; i += batchSize) {
        const chunk = list.slice(i, i + batchSize);
        await producer.send({
          topic,
          acks: -1,
          compression: CompressionTypes.None,
          messages: chunk.map((r) => ({ partition, key: r.key, value: r.value })),
        });
        sent += chunk.length;
        bar.update(sent);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  bar.done(`(${Math.round(records.length / seconds)}/s)`);
  return seconds;
}

/**
 * Next offsets per partition, as the consumer's PostgreSQL checkpoints say
 * (what "applied" means). Keeps one connection, and opens a new one if it
 * breaks (PostgreSQL restarted under us).
 */
export class Checkpoints {
  private client: Client | null = null;

  constructor(
    private readonly databaseUrl: string,
    private readonly groupId: string,
    private readonly topic: string,
  ) {}

  async read(): Promise<Map<number, bigint>> {
    const client = await this.connection();
    try {
      const { rows } = await client.query<{ partition: number; next_offset: string }>(
        'SELECT partition, next_offset FROM consumer_checkpoints WHERE group_id = $1 AND topic = $2',
        [this.groupId, this.topic],
      );
      return new Map(rows.map((r) => [r.partition, BigInt(r.next_offset)]));
    } catch (error) {
      this.drop(client);
      throw error;
    }
  }

  /** When the PostgreSQL server started: a change during the run means something restarted it. */
  async postgresStartedAt(): Promise<string | null> {
    const client = await this.connection();
    try {
      const { rows } = await client.query<{ started: string }>('SELECT pg_postmaster_start_time()::text AS started');
      return rows[0].started;
    } catch (error) {
      this.drop(client);
      throw error;
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async connection(): Promise<Client> {
    if (this.client) return this.client;
    const client = new Client({ connectionString: this.databaseUrl });
    client.on('error', () => this.drop(client));
    await client.connect();
    this.client = client;
    return client;
  }

  private drop(client: Client): void {
    if (this.client === client) this.client = null;
    client.end().catch(() => undefined);
  }
}

export async function endOffsets(admin: Admin, topic: string): Promise<Map<number, bigint>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
}

/** Records between `from` and `to` over the given partitions, capped at `to`. */
export function recordsBetween(from: Map<number, bigint>, to: Map<number, bigint>, partitions: number[], cap?: Map<number, bigint>): number {
  let total = 0n;
  for (const p of partitions) {
    let end = to.get(p) ?? 0n;
    const limit = cap?.get(p);
    if (limit !== undefined && end > limit) end = limit;
    const start = from.get(p) ?? 0n;
    if (end > start) total += end - start;
  }
  return Number(total);
}

/** Resolves with performance.now() once the group is Stable with at least `members` members. */
export async function whenGroupStable(admin: Admin, groupId: string, timeoutMs = 60_000, pollMs = 20, members = 1): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const { groups } = await admin.describeGroups([groupId]).catch(() => ({ groups: [] as { state: string; members: unknown[] }[] }));
    const group = groups[0];
    if (group && group.state === 'Stable' && group.members.length >= members) return performance.now();
    if (performance.now() > deadline) throw new Error(`group ${groupId} not stable after ${timeoutMs} ms`);
    await sleep(pollMs);
  }
}

export interface DrainResult {
  records: number;
  /** from the start signal (group stable, or the consumer resumed) to the last record applied */
  seconds: number;
  /** records / seconds: the headline figure */
  rate: number;
  /** rate between the first observed progress and the end (leaves out start-up and the first fetch) */
  steadyRate: number | null;
  /** CPU seconds the measured process used over `seconds` (cpuSeconds / seconds = cores busy) */
  cpuSeconds: number | null;
  /** CPU seconds PostgreSQL, Redis and the Kafka broker used over `seconds` */
  servicesCpu: ServicesCpu | null;
}

/**
 * Polls `progress` (records drained so far) until it reaches `total`; the
 * rate is counted from the moment `started` resolves. Same code measures the
 * real consumer and the bare kafkajs baseline.
 */
export async function measureDrain(options: {
  label: string;
  total: number;
  progress: () => Promise<number> | number;
  started: Promise<number>;
  /** the process doing the work, for its CPU time */
  pid?: number;
  pollMs?: number;
  timeoutMs?: number;
}): Promise<DrainResult> {
  const { label, total, progress, started, pid, pollMs = 20, timeoutMs = 600_000 } = options;
  const bar = new Progress(label, total, ' records');
  const begin = performance.now();
  let startedAt: number | null = null;
  let cpuAtStart: number | null = null;
  let servicesAtStart: ServicesCpu | null = null;
  let failure: unknown = null;
  started.then(
    (t) => {
      startedAt = t;
      cpuAtStart = pid === undefined ? null : cpuSeconds(pid);
      servicesAtStart = servicesCpuSeconds();
    },
    (error) => (failure = error),
  );
  let first: { t: number; count: number } | null = null;
  for (;;) {
    if (failure) throw failure;
    const count = await progress();
    const now = performance.now();
    if (count > 0 && first === null) first = { t: now, count };
    const rateNote = startedAt !== null && now > startedAt ? `${Math.round(count / ((now - startedAt) / 1000))}/s` : 'starting';
    bar.update(count, rateNote);
    if (count >= total) {
      if (startedAt === null) startedAt = first?.t ?? begin; // finished before the start was seen: lower bound
      const seconds = (now - startedAt) / 1000;
      const rate = total / seconds;
      const steadyRate = first && now > first.t && total > first.count ? (total - first.count) / ((now - first.t) / 1000) : null;
      const cpuAtEnd = pid === undefined ? null : cpuSeconds(pid);
      bar.done(`${Math.round(rate)}/s`);
      const servicesCpu = servicesAtStart === null ? null : servicesCpuSince(servicesAtStart);
      return { records: total, seconds, rate, steadyRate, cpuSeconds: cpuAtStart === null || cpuAtEnd === null ? null : cpuAtEnd - cpuAtStart, servicesCpu };
    }
    if (now - begin > timeoutMs) throw new Error(`${label}: only ${count}/${total} records after ${timeoutMs} ms`);
    await sleep(pollMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
