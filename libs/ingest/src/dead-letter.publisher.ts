import { Producer } from 'kafkajs';
import { DeadLetter } from './batch-applier';

/** Sends invalid records to the dead-letter topic unchanged, with headers saying why and where from. */
export class DeadLetterPublisher {
  constructor(
    private readonly producer: Producer,
    private readonly dlqTopic: string,
  ) {}

  async publish(sourceTopic: string, partition: number, letters: DeadLetter[]): Promise<void> {
    await this.producer.send({
      topic: this.dlqTopic,
      acks: -1,
      messages: letters.map(({ record, reason }) => ({
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
  }
}
