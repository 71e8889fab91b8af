/**
 * The ingest baseline: a bare kafkajs consumer in its own process and group,
 * reading the topic from the beginning and JSON.parse-ing every record value;
 * nothing else. Fetch settings as the real consumer's. Reports its running
 * count to the parent over IPC after every batch.
 *
 * argv: brokers topic groupId
 */
import { Kafka, logLevel } from 'kafkajs';
import { exitOnStop, runChild } from './child-lifetime';

async function main(): Promise<void> {
  const [brokers, topic, groupId] = process.argv.slice(2);
  const kafka = new Kafka({ clientId: 'bench-baseline-consumer', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000, maxBytesPerPartition: 1024 * 1024 });
  let count = 0;
  let parsedTypes = 0;
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) {
        const event = JSON.parse(message.value!.toString('utf8')) as { type?: string };
        if (event.type) parsedTypes++;
      }
      count += batch.messages.length;
      process.send?.({ count, parsedTypes });
    },
  });
  exitOnStop(() => consumer.disconnect(), 5_000);
}

runChild('baseline consumer', main);
