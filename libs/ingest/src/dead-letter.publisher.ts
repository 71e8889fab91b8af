import { randomUUID } from 'node:crypto';
import { createKeyedProducer } from '@cs/kafka';
import { Admin, Kafka, Producer } from 'kafkajs';
import { DeadLetter } from './batch-applier';

/**
 * Sends invalid records to the dead-letter topic unchanged, with headers saying
 * why and where from — once each. Each send is a Kafka transaction that also
 * commits, for a tracking group, the source offset after the last letter; a
 * retried batch (its PostgreSQL transaction failed after the send) finds those
 * letters already sent and skips them. The caller holds its partition's row lock, so
 * no two consumers check and send for the same partition at once.
 *
 * A send gives up after the client's retries (the clock must not be held for
 * ever) and kafkajs then hands its sequence numbers to the next send. A failed
 * transaction therefore retires its producer: the next one re-registers the
 * same transactional id, which aborts whatever the old one left open and
 * bumps the epoch, so no later letter can be taken for a duplicate of an
 * abandoned one, and a failed abort cannot wedge the publisher.
 */
export class DeadLetterPublisher {
  private producer: Producer;
  private producerConnected = false;
  private readonly admin: Admin;
  private readonly transactionalId: string;
  readonly trackingGroup: string;

  constructor(
    private readonly kafka: Kafka,
    private readonly dlqTopic: string,
    groupId: string,
  ) {
    this.trackingGroup = `${groupId}.dead-letters`;
    this.transactionalId = `${this.trackingGroup}-${randomUUID()}`;
    this.producer = this.createProducer();
    this.admin = kafka.admin();
  }

  async connect(): Promise<void> {
    await Promise.all([this.connectProducer(), this.admin.connect()]);
  }

  async disconnect(): Promise<void> {
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }

  /** Returns how many letters were sent now (the rest had been sent by an earlier attempt). */
  async publish(sourceTopic: string, partition: number, letters: DeadLetter[]): Promise<number> {
    const alreadySentBelow = await this.sentBelow(sourceTopic, partition);
    const fresh = letters.filter(({ record }) => BigInt(record.offset) >= alreadySentBelow);
    if (fresh.length === 0) return 0;
    await this.connectProducer();
    try {
      await this.sendInTransaction(sourceTopic, partition, fresh);
    } catch (error) {
      this.retireProducer();
      throw error;
    }
    return fresh.length;
  }

  private async sendInTransaction(sourceTopic: string, partition: number, fresh: DeadLetter[]): Promise<void> {
    const transaction = await this.producer.transaction();
    try {
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
      const next = (BigInt(fresh[fresh.length - 1].record.offset) + 1n).toString();
      await transaction.sendOffsets({ consumerGroupId: this.trackingGroup, topics: [{ topic: sourceTopic, partitions: [{ partition, offset: next }] }] });
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Transaction sends are idempotent in kafkajs whatever the producer's
   * `idempotent` option; the option would only add its warning about limited
   * retries, which the retirement above answers.
   */
  private createProducer(): Producer {
    return createKeyedProducer(this.kafka, { transactionalId: this.transactionalId, maxInFlightRequests: 1 });
  }

  private async connectProducer(): Promise<void> {
    if (this.producerConnected) return;
    await this.producer.connect();
    this.producerConnected = true;
  }

  private retireProducer(): void {
    void this.producer.disconnect().catch(() => undefined);
    this.producer = this.createProducer();
    this.producerConnected = false;
  }

  private async sentBelow(topic: string, partition: number): Promise<bigint> {
    const [offsets] = await this.admin.fetchOffsets({ groupId: this.trackingGroup, topics: [topic] });
    const committed = offsets?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
    return committed === '-1' ? -1n : BigInt(committed);
  }
}
