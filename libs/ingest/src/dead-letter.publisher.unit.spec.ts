import { Kafka, ProducerConfig } from 'kafkajs';
import { DeadLetterPublisher } from './dead-letter.publisher';

/**
 * What the publisher does when a transaction fails (real sends: test/bad-input.e2e.spec.ts and the
 * fault suite). kafkajs stands in here because a broker cannot be made to fail mid-transaction on cue.
 */
describe('DeadLetterPublisher after a failed transaction', () => {
  function fakeKafka(failFirstSend: boolean) {
    const producers: { config: ProducerConfig; disconnected: boolean; sends: number }[] = [];
    let sends = 0;
    const kafka = {
      admin: () => ({ connect: async () => undefined, disconnect: async () => undefined, fetchOffsets: async () => [] }),
      producer: (config: ProducerConfig) => {
        const record = { config, disconnected: false, sends: 0 };
        producers.push(record);
        return {
          connect: async () => undefined,
          disconnect: async () => void (record.disconnected = true),
          transaction: async () => ({
            send: async () => {
              record.sends++;
              if (failFirstSend && sends++ === 0) throw new Error('retries exhausted');
            },
            sendOffsets: async () => undefined,
            commit: async () => undefined,
            abort: async () => Promise.reject(new Error('coordinator unreachable')),
          }),
        };
      },
    } as unknown as Kafka;
    return { kafka, producers };
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
