import { createKeyedProducer } from '@cs/kafka';
import { Admin, Kafka, Producer, Transaction } from 'kafkajs';
import { DeadLetter } from './batch-applier';

/** How long a send waits, after its commit, for Kafka to show its letters as sent (see untilSentBelowShows). */
const OFFSET_VISIBLE_WITHIN_MS = 10_000;

/**
 * Sends invalid records to the dead-letter topic unchanged, with headers saying
 * why and where from — once each. Each send is a Kafka transaction that also
 * commits, for a tracking group, the source offset after the last letter; a
 * retried batch (its PostgreSQL transaction failed after the send) finds those
 * letters already sent and skips them. The caller holds its partition's row lock, so
 * no two consumers check and send for the same partition at once.
 *
 * The transactional id is the source partition's own, the same in every
 * instance: the instance that takes a partition over fences the producer of
 * one that lost it while frozen mid-send (its PostgreSQL session ended, its
 * Kafka session too), so that one's late letters are aborted, never sent twice.
 *
 * A send gives up after the client's retries (the clock must not be held for
 * ever) and kafkajs then hands its sequence numbers to the next send. A failed
 * transaction therefore retires its producer: the next one re-registers the
 * same transactional id, which aborts whatever the old one left open and
 * bumps the epoch, so no later letter can be taken for a duplicate of an
 * abandoned one, and a failed abort cannot wedge the publisher.
 */
export class DeadLetterPublisher {
  /** One transactional producer per source partition, created when it first sends. */
  private readonly producers = new Map<string, { producer: Producer; connected: boolean }>();
  private readonly admin: Admin;
  readonly trackingGroup: string;

  constructor(
    private readonly kafka: Kafka,
    private readonly dlqTopic: string,
    groupId: string,
  ) {
    this.trackingGroup = `${groupId}.dead-letters`;
    this.admin = kafka.admin();
  }

  async connect(): Promise<void> {
    await this.admin.connect();
  }

  async disconnect(): Promise<void> {
    await Promise.allSettled([...[...this.producers.values()].map(({ producer }) => producer.disconnect()), this.admin.disconnect()]);
  }

  /**
   * Returns how many letters were sent now (the rest had been sent by an
   * earlier attempt). The transaction begins first: beginning it registers the
   * transactional id (once per producer), which waits for a fenced producer's
   * commit in progress, so the letters found sent below include its.
   */
  async publish(sourceTopic: string, partition: number, letters: DeadLetter[]): Promise<number> {
    const producer = await this.connectedProducer(sourceTopic, partition);
    const transaction = await producer.transaction().catch((error) => {
      this.retireProducer(sourceTopic, partition);
      throw error;
    });
    try {
      const alreadySentBelow = await this.sentBelow(sourceTopic, partition);
      const fresh = letters.filter(({ record }) => BigInt(record.offset) >= alreadySentBelow);
      if (fresh.length > 0) await this.send(transaction, sourceTopic, partition, fresh);
      else await transaction.abort();
      return fresh.length;
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      this.retireProducer(sourceTopic, partition);
      throw error;
    }
  }

  private async send(transaction: Transaction, sourceTopic: string, partition: number, fresh: DeadLetter[]): Promise<void> {
    await transaction.send({
      topic: this.dlqTopic,
      acks: -1,
      messages: fresh.map(({ record, reason }) => ({
        key: record.key,
        value: record.value,
        headers: {
          ...(record.headers as Record<string, Buffer | string> | undefined),
          'dlq-reason': reason,
          'dlq-source-topic': sourceTopic,
          'dlq-source-partition': String(partition),
          'dlq-source-offset': record.offset,
        },
      })),
    });
    const next = BigInt(fresh[fresh.length - 1].record.offset) + 1n;
    await transaction.sendOffsets({ consumerGroupId: this.trackingGroup, topics: [{ topic: sourceTopic, partitions: [{ partition, offset: next.toString() }] }] });
    await transaction.commit();
    await this.untilSentBelowShows(sourceTopic, partition, next);
  }

  /**
   * Kafka acknowledges a commit before it writes the transaction's markers,
   * and until then the tracking offset still reads as before: the next check
   * for letters sent (the partition's next batch, or this one's retry after a
   * failed PostgreSQL commit) would send them again. So the send ends only
   * once the offset shows; given up on, it fails, which retires the producer,
   * and the next one's registration waits for the transaction to complete.
   */
  private async untilSentBelowShows(topic: string, partition: number, next: bigint): Promise<void> {
    const deadline = Date.now() + OFFSET_VISIBLE_WITHIN_MS;
    while ((await this.sentBelow(topic, partition)) < next) {
      if (Date.now() > deadline) throw new Error(`the dead letters' tracking offset ${next} of ${topic}[${partition}] did not show within ${OFFSET_VISIBLE_WITHIN_MS} ms of its commit`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /**
   * Transaction sends are idempotent in kafkajs whatever the producer's
   * `idempotent` option; the option would only add its warning about limited
   * retries, which the retirement above answers. Connecting registers the
   * transactional id, which fences any other producer holding it.
   */
  private async connectedProducer(topic: string, partition: number): Promise<Producer> {
    const key = producerKey(topic, partition);
    let entry = this.producers.get(key);
    if (!entry) {
      const transactionalId = `${this.trackingGroup}-${topic}-${partition}`;
      entry = { producer: createKeyedProducer(this.kafka, { transactionalId, maxInFlightRequests: 1 }), connected: false };
      this.producers.set(key, entry);
    }
    if (!entry.connected) {
      await entry.producer.connect();
      entry.connected = true;
    }
    return entry.producer;
  }

  private retireProducer(topic: string, partition: number): void {
    const key = producerKey(topic, partition);
    const entry = this.producers.get(key);
    this.producers.delete(key);
    void entry?.producer.disconnect().catch(() => undefined);
  }

  private async sentBelow(topic: string, partition: number): Promise<bigint> {
    const [offsets] = await this.admin.fetchOffsets({ groupId: this.trackingGroup, topics: [topic] });
    const committed = offsets?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
    return committed === '-1' ? -1n : BigInt(committed);
  }
}

function producerKey(topic: string, partition: number): string {
  return `${partition} ${topic}`;
}
