import { randomBytes } from 'node:crypto';
import { TestEnvironment } from '../support/test-environment';
import { waitFor } from '../support/wait-for';

export interface DeadLetterRecord {
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/**
 * Every record of the dead-letter topic, read from the beginning up to the end
 * offsets it has now (committed transactions only; the transaction markers the
 * dead-letter producer writes count as read once passed). Call it once the
 * consumer has applied everything, so nothing more can arrive.
 */
export async function readAllDeadLetters(env: TestEnvironment, timeoutMs = 30_000): Promise<DeadLetterRecord[]> {
  const admin = env.kafka.admin();
  await admin.connect();
  const groupId = `${env.groupId}-faults-dlq-${randomBytes(3).toString('hex')}`;
  const consumer = env.kafka.consumer({ groupId });
  const letters: DeadLetterRecord[] = [];
  const reached = new Map<number, bigint>();
  try {
    const ends = await admin.fetchTopicOffsets(env.dlqTopic);
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const last = BigInt(payload.lastOffset);
      if (last > (reached.get(payload.partition) ?? -1n)) reached.set(payload.partition, last);
    });
    await consumer.connect();
    await consumer.subscribe({ topic: env.dlqTopic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
        letters.push({ key: message.key?.toString() ?? null, value: message.value, headers });
      },
    });
    await waitFor(
      `the dead-letter topic to be read to its end offsets ${JSON.stringify(ends.map((e) => [e.partition, e.high]))}`,
      () => ends.every((end) => BigInt(end.high) === 0n || (reached.get(end.partition) ?? -1n) >= BigInt(end.high) - 1n),
      timeoutMs,
    );
    return letters;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}
