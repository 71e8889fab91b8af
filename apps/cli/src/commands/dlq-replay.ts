import { configOrExit, loadConfig } from '@cs/config';
import { decodeRecord } from '@cs/ingest';
import { createKafka, createKeyedProducer, ensureTopics } from '@cs/kafka';
import { DlqReplayRepository, createPool, migrate } from '@cs/storage';
import { IHeaders, Producer } from 'kafkajs';
import { Pool } from 'pg';
import { Command, say } from '../command';
import { DeadLetterRecord, describeDeadLetter, positionOf, readDeadLetters } from '../dead-letters';

export const dlqReplayCommand: Command = {
  name: 'dlq replay',
  summary: 're-publish the dead letters that now pass validation to KAFKA_TOPIC',
  help: `Usage: npm run cli -- dlq replay [--dry-run]

Reads KAFKA_DLQ_TOPIC from its start to its end offsets and re-publishes to
KAFKA_TOPIC, with the same key and value, every dead letter that passes the
consumer's validation now (for example after a release that accepts it). Each
gets the header dlq-replayed-from: <dlq partition>:<offset>; the dlq-* headers
are dropped, the producer's own headers kept.

A dead letter is replayed once: replays are recorded in DATABASE_URL (table
dlq_replays), by DLQ position and by source position, so running the command
again, or on a DLQ holding the same record twice, replays nothing twice. A
replayed event arrives after the channel's later events (a late arrival).

  --dry-run   list what would be replayed; publish and record nothing

Prints one final line: replayed: <R>, still invalid: <I>, already replayed: <A>
`,
  options: { 'dry-run': { type: 'boolean' } },
  async run(options) {
    const dryRun = options['dry-run'] === true;
    const config = configOrExit(() => loadConfig());
    const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: 'conversation-sync-cli' });
    const admin = kafka.admin();
    await admin.connect();
    await migrate(config.databaseUrl);
    const pool = createPool(config.databaseUrl);
    try {
      const replays = new DlqReplayRepository(pool);
      const letters = (await readDeadLetters(kafka, admin, config.kafkaDlqTopic)) ?? [];
      const { candidates, stillInvalid, alreadyReplayed } = sortOut(letters, await replays.replayed(config.kafkaDlqTopic));
      if (dryRun) {
        for (const letter of candidates) say(`would replay ${describeDeadLetter(letter)}`);
        say(`dry run: would replay ${candidates.length}, still invalid: ${stillInvalid}, already replayed: ${alreadyReplayed}`);
        return 0;
      }
      await ensureTopics(kafka, [{ topic: config.kafkaTopic, numPartitions: config.kafkaPartitions }]);
      const producer = createKeyedProducer(kafka);
      await producer.connect();
      let replayed = 0;
      try {
        for (let start = 0; start < candidates.length; start += BATCH) {
          replayed += await replayBatch(pool, replays, producer, config.kafkaDlqTopic, config.kafkaTopic, candidates.slice(start, start + BATCH));
        }
      } finally {
        await producer.disconnect().catch(() => undefined);
      }
      say(`replayed: ${replayed}, still invalid: ${stillInvalid}, already replayed: ${alreadyReplayed + candidates.length - replayed}`);
      return 0;
    } finally {
      await admin.disconnect().catch(() => undefined);
      await pool.end().catch(() => undefined);
    }
  },
};

const BATCH = 200;

/** Which letters to replay: valid now, and neither they nor their source record replayed before. */
function sortOut(letters: DeadLetterRecord[], replayed: { dlq: Set<string>; sources: Set<string> }) {
  const sources = new Set(replayed.sources);
  const candidates: DeadLetterRecord[] = [];
  let stillInvalid = 0;
  let alreadyReplayed = 0;
  for (const letter of letters) {
    const source = letter.sourceTopic === null ? null : `${letter.sourceTopic}/${letter.sourcePartition}:${letter.sourceOffset}`;
    if (replayed.dlq.has(positionOf(letter)) || (source !== null && sources.has(source))) alreadyReplayed++;
    else if (!decodeRecord(letter.value).ok) stillInvalid++;
    else {
      candidates.push(letter);
      if (source !== null) sources.add(source);
    }
  }
  return { candidates, stillInvalid, alreadyReplayed };
}

/**
 * Records the batch as replayed and publishes it in one PostgreSQL transaction:
 * a failed send rolls the record back (the next run retries); a concurrent run
 * waits on the rows and then finds them taken. Returns how many were published.
 */
async function replayBatch(pool: Pool, replays: DlqReplayRepository, producer: Producer, dlqTopic: string, topic: string, letters: DeadLetterRecord[]): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const claimed = new Set((await replays.claim(client, dlqTopic, topic, letters)).map(positionOf));
    const toSend = letters.filter((letter) => claimed.has(positionOf(letter)));
    if (toSend.length > 0) {
      await producer.send({
        topic,
        acks: -1,
        messages: toSend.map((letter) => ({ key: letter.key, value: letter.value, headers: replayHeaders(letter) })),
      });
    }
    await client.query('COMMIT');
    return toSend.length;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

function replayHeaders(letter: DeadLetterRecord): IHeaders {
  const kept = Object.entries(letter.headers).filter(([name]) => !name.startsWith('dlq-'));
  return { ...Object.fromEntries(kept), 'dlq-replayed-from': positionOf(letter) };
}
