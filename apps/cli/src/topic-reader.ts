import { randomUUID } from 'node:crypto';
import { Admin, Kafka, KafkaMessage } from 'kafkajs';

/** The records of one partition to read: offsets `from` (inclusive) to `to` (exclusive). */
export interface PartitionSpan {
  partition: number;
  from: bigint;
  to: bigint;
}

/** Each partition from its first offset still held to its end offset now; null if the topic does not exist. */
export async function currentSpans(admin: Admin, topic: string): Promise<PartitionSpan[] | null> {
  if (!(await admin.listTopics()).includes(topic)) return null;
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets
    .map(({ partition, low, high }) => ({ partition, from: BigInt(low), to: BigInt(high) }))
    .sort((a, b) => a.partition - b.partition);
}

export const spanSize = (spans: PartitionSpan[]) => spans.reduce((sum, span) => sum + Number(span.to - span.from), 0);

/**
 * Reads the spans with a throwaway consumer group (kafkajs cannot assign
 * partitions by hand) and hands each partition's records to `handle`, in
 * offset order, one batch at a time. Resolves once every span is read;
 * records past a span's end are ignored; the group is deleted afterwards.
 */
export async function readSpans(
  kafka: Kafka,
  admin: Admin,
  topic: string,
  spans: PartitionSpan[],
  handle: (partition: number, records: KafkaMessage[]) => Promise<void>,
): Promise<void> {
  const ends = new Map(spans.filter((s) => s.to > s.from).map((s) => [s.partition, s.to]));
  if (ends.size === 0) return;
  const groupId = `conversation-sync-cli-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, sessionTimeout: 30_000, heartbeatInterval: 3_000, maxBytesPerPartition: 1024 * 1024 });
  const pending = new Set(ends.keys());
  let settle!: { resolve: () => void; reject: (error: unknown) => void };
  const finished = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  let failed = false;

  const pause = (partition: number) => consumer.pause([{ topic, partitions: [partition] }]);
  // Emitted after each batch, also for batches kafkajs filtered out entirely (transaction markers).
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const end = ends.get(payload.partition);
    if (failed || end === undefined || BigInt(payload.lastOffset) + 1n < end) return;
    pause(payload.partition);
    pending.delete(payload.partition);
    if (pending.size === 0) settle.resolve();
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => settle.reject(payload.error));

  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, heartbeat }) => {
        const end = ends.get(batch.partition);
        if (failed || end === undefined) {
          pause(batch.partition);
          return;
        }
        const records = batch.messages.filter((m) => BigInt(m.offset) < end);
        try {
          if (records.length > 0) await handle(batch.partition, records);
          await heartbeat();
        } catch (error) {
          failed = true;
          pause(batch.partition);
          settle.reject(error);
        }
      },
    });
    await finished;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
}
