import { randomUUID } from 'node:crypto';
import { Admin, Kafka, Producer } from 'kafkajs';
import { DeadLetter } from './batch-applier';

/**
 * Sends invalid records to the dead-letter topic unchanged, with headers saying
 * why and where from — once each. Each send is a Kafka transaction that also
 * commits, for a tracking group, the source offset after the last letter; a
 * retried batch (its PostgreSQL transaction failed after the send) finds those
 * letters already sent and skips them. The caller holds its partition's row lock, so
 * no two consumers check and send for the same partition at once.
 */
export class DeadLetterPublisher {
  private readonly producer: Producer;
  private readonly admin: Admin;
  readonly trackingGroup: string;

  constructor(
    kafka: Kafka,
    private readonly dlqTopic: string,
    groupId: string,
  ) {
    this.trackingGroup = `${groupId}.dead-letters`;
    this.producer = kafka.producer({
      transactionalId: `${this.trackingGroup}-${randomUUID()}`,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    this.admin = kafka.admin();
  }

  async connect(): Promise<void> {
    await Promise.all([this.producer.connect(), this.admin.connect()]);
  }

  async disconnect(): Promise<void> {
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }

  /** Returns how many letters were sent now (the rest had been sent by an earlier attempt). */
  async publish(sourceTopic: string, partition: number, letters: DeadLetter[]): Promise<number> {
    const alreadySentBelow = await this.sentBelow(sourceTopic, partition);
    const fresh = letters.filter(({ record }) => BigInt(record.offset) >= alreadySentBelow);
    if (fresh.length === 0) return 0;
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
    return fresh.length;
  }

  private async sentBelow(topic: string, partition: number): Promise<bigint> {
    const [offsets] = await this.admin.fetchOffsets({ groupId: this.trackingGroup, topics: [topic] });
    const committed = offsets?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
    return committed === '-1' ? -1n : BigInt(committed);
  }
}
