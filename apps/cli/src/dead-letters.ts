import { DeadLetterPosition } from '@cs/storage';
import { Admin, IHeaders, Kafka } from 'kafkajs';
import { currentSpans, readSpans } from './topic-reader';

/** A record of KAFKA_DLQ_TOPIC with what its headers say. */
export interface DeadLetterRecord extends DeadLetterPosition {
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
  reason: string | null;
}

/** Every dead letter from the start of the DLQ to its end offsets now, in partition then offset order; null if the topic does not exist. */
export async function readDeadLetters(kafka: Kafka, admin: Admin, dlqTopic: string): Promise<DeadLetterRecord[] | null> {
  const spans = await currentSpans(admin, dlqTopic);
  if (spans === null) return null;
  const letters: DeadLetterRecord[] = [];
  await readSpans(kafka, admin, dlqTopic, spans, async (partition, records) => {
    for (const { offset, key, value, headers = {} } of records) {
      const sourcePartition = header(headers, 'dlq-source-partition');
      const sourceOffset = header(headers, 'dlq-source-offset');
      const sourceKnown = sourcePartition !== null && /^\d{1,9}$/.test(sourcePartition) && sourceOffset !== null && /^\d{1,19}$/.test(sourceOffset);
      letters.push({
        dlqPartition: partition,
        dlqOffset: offset,
        sourceTopic: sourceKnown ? header(headers, 'dlq-source-topic') : null,
        sourcePartition: sourceKnown ? Number(sourcePartition) : null,
        sourceOffset: sourceKnown ? sourceOffset : null,
        key,
        value,
        headers,
        reason: header(headers, 'dlq-reason'),
      });
    }
  });
  return letters.sort((a, b) => a.dlqPartition - b.dlqPartition || Number(BigInt(a.dlqOffset) - BigInt(b.dlqOffset)));
}

/** One line: DLQ position, source position, reason, key, and the value cut to 120 characters. JSON-quoted, so it stays one line. */
export function describeDeadLetter(letter: DeadLetterRecord): string {
  const source = letter.sourceTopic === null ? 'unknown' : `${letter.sourceTopic}/${letter.sourcePartition}:${letter.sourceOffset}`;
  return [
    `${letter.dlqPartition}:${letter.dlqOffset}`,
    `source=${source}`,
    `reason=${JSON.stringify(letter.reason)}`,
    `key=${quoted(letter.key)}`,
    `value=${quoted(letter.value, 120)}`,
  ].join(' ');
}

/** The DLQ position, also written into the `dlq-replayed-from` header. */
export const positionOf = (letter: DeadLetterPosition) => `${letter.dlqPartition}:${letter.dlqOffset}`;

export function header(headers: IHeaders, name: string): string | null {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? null : first.toString();
}

function quoted(bytes: Buffer | null, limit?: number): string {
  if (bytes === null) return 'null';
  const text = bytes.toString('utf8');
  return JSON.stringify(limit !== undefined && text.length > limit ? `${text.slice(0, limit)}…` : text);
}
