import { Kafka, ProducerConfig } from 'kafkajs';
import { DeadLetterPublisher } from './dead-letter.publisher';

/**
 * What the publisher does when a transaction fails (real sends: test/bad-input.e2e.spec.ts and the
 * fault suite). kafkajs stands in here because a broker cannot be made to fail mid-transaction on cue.
 */
describe('DeadLetterPublisher after a failed transaction', () => {
  /** `hiddenChecks`: how many offset checks after a commit still see the offset before it (Kafka writes a transaction's markers after acknowledging its commit). */
  function fakeKafka(failFirstSend: boolean, hiddenChecks = 0) {
    const producers: { config: ProducerConfig; disconnected: boolean; sends: number }[] = [];
    let sends = 0;
    const [visible, committed] = [new Map<number, string>(), new Map<number, string>()];
    let [hidden, offsetChecks] = [0, 0];
    const fetchOffsets = async () => {
      offsetChecks++;
      if (hidden > 0) hidden--;
      else for (const [partition, offset] of committed) visible.set(partition, offset);
      return [{ topic: 'events', partitions: [...visible].map(([partition, offset]) => ({ partition, offset })) }];
    };
    const kafka = {
      admin: () => ({ connect: async () => undefined, disconnect: async () => undefined, fetchOffsets }),
      producer: (config: ProducerConfig) => {
        const record = { config, disconnected: false, sends: 0 };
        let pending: { partition: number; offset: string } | undefined;
        producers.push(record);
        return {
          connect: async () => undefined,
          disconnect: async () => void (record.disconnected = true),
          transaction: async () => ({
            send: async () => {
              record.sends++;
              if (failFirstSend && sends++ === 0) throw new Error('retries exhausted');
            },
            sendOffsets: async ({ topics }: { topics: { partitions: { partition: number; offset: string }[] }[] }) => void (pending = topics[0].partitions[0]),
            commit: async () => {
              if (pending) committed.set(pending.partition, pending.offset);
              hidden = hiddenChecks;
            },
            abort: async () => (failFirstSend ? Promise.reject(new Error('coordinator unreachable')) : undefined),
          }),
        };
      },
    } as unknown as Kafka;
    return { kafka, producers, offsetChecks: () => offsetChecks };
  }

  const letter = { record: { offset: '5', key: null, value: Buffer.from('x') }, reason: 'value: not valid JSON' };

  it('retires the producer and sends the retry with a new one under the same transactional id', async () => {
    const { kafka, producers } = fakeKafka(true);
    const publisher = new DeadLetterPublisher(kafka, 'dlq', 'group');
    await publisher.connect();

    await expect(publisher.publish('events', 0, [letter])).rejects.toThrow('retries exhausted');
    expect(await publisher.publish('events', 0, [letter])).toBe(1);

    expect(producers.map(({ disconnected, sends }) => ({ disconnected, sends }))).toEqual([
      { disconnected: true, sends: 1 },
      { disconnected: false, sends: 1 },
    ]);
    expect(producers[1].config.transactionalId).toBe(producers[0].config.transactionalId);
    expect(producers[0].config.transactionalId).toBe('group.dead-letters-events-0');
    // Transaction sends are idempotent anyway; the flag would only log kafkajs' limited-retries warning.
    expect(producers[0].config).toMatchObject({ maxInFlightRequests: 1 });
    expect(producers[0].config.idempotent).toBeUndefined();
  });

  it('keeps its producer while transactions succeed', async () => {
    const { kafka, producers } = fakeKafka(false);
    const publisher = new DeadLetterPublisher(kafka, 'dlq', 'group');
    await publisher.connect();
    await publisher.publish('events', 0, [letter]);
    await publisher.publish('events', 0, [{ ...letter, record: { ...letter.record, offset: '6' } }]);
    expect(producers).toHaveLength(1);
  });

  it('ends a send only once Kafka shows its letters as sent, so the next check does not send them again', async () => {
    const fake = fakeKafka(false, 3);
    const publisher = new DeadLetterPublisher(fake.kafka, 'dlq', 'group');
    await publisher.connect();
    expect(await publisher.publish('events', 0, [letter])).toBe(1);
    // One check before the send, three that still saw the old offset, one that saw the new.
    expect(fake.offsetChecks()).toBe(5);
    expect(await publisher.publish('events', 0, [letter])).toBe(0);
    expect(fake.producers.map(({ sends }) => sends)).toEqual([1]);
  });

  it('gives each source partition a transactional id of its own, the same in every instance, so a new owner fences a stalled one', async () => {
    const first = fakeKafka(false);
    const second = fakeKafka(false);
    const [a, b] = [new DeadLetterPublisher(first.kafka, 'dlq', 'group'), new DeadLetterPublisher(second.kafka, 'dlq', 'group')];
    await Promise.all([a.connect(), b.connect()]);
    await a.publish('events', 0, [letter]);
    await a.publish('events', 1, [letter]);
    await b.publish('events', 1, [letter]);
    expect(first.producers.map(({ config }) => config.transactionalId)).toEqual(['group.dead-letters-events-0', 'group.dead-letters-events-1']);
    expect(second.producers.map(({ config }) => config.transactionalId)).toEqual(['group.dead-letters-events-1']);
  });
});
