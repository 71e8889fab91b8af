import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { AppConfig, configOrExit, loadConfig } from '@cs/config';
import { EventPublisher, EventRecord, channelKeyOfRaw, recordKeyOf } from '@cs/events';
import { decodeRecord } from '@cs/ingest';
import { parseExactJson } from '@cs/json';
import { createKafka, createKeyedProducer, ensureTopics } from '@cs/kafka';
import { Message, Producer } from 'kafkajs';
import { Command, OptionValues, UsageError, integerOption, say } from '../command';
import { ProgressBar } from '../progress';
import { TrafficPlan, generateTraffic } from '../traffic';

export const produceCommand: Command = {
  name: 'produce',
  summary: 'publish events to KAFKA_TOPIC from a JSON-lines file, or generate realistic traffic',
  help: `Usage: npm run cli -- produce --file <events.jsonl> [--progress]
       npm run cli -- produce --generate <N> [--users U] [--groups G] [--seed S] [--progress]

Publishes IM events to KAFKA_TOPIC (created with KAFKA_PARTITIONS partitions if missing).

  --file <path>     one event per line, sent byte for byte (blank lines skipped), even
                    lines that are not valid events: those become dead letters. Each
                    record is keyed by its channel when the line names one, else 'invalid'.
  --generate <N>    N events of realistic traffic: 70% of messages in person chats, 30%
                    in groups of 5-20 members (joined by subscribers_added first), and
                    about 10% reads. The same options give the same events.
  --users <U>       users in the generated traffic (default 100, at least 2)
  --groups <G>      groups in the generated traffic (default 10; 0 = person chats only)
  --seed <S>        seed of the generated traffic (default 1); names carry the seed, so
                    different seeds never share a channel
  --progress        draw the progress bar on stderr even when it is not a terminal

Prints one final line: produced: <count> ...
`,
  options: {
    file: { type: 'string' },
    generate: { type: 'string' },
    users: { type: 'string' },
    groups: { type: 'string' },
    seed: { type: 'string' },
    progress: { type: 'boolean' },
  },
  async run(options) {
    if ((options.file === undefined) === (options.generate === undefined)) throw new UsageError('give either --file or --generate');
    if (options.file !== undefined && [options.users, options.groups, options.seed].some((o) => o !== undefined)) {
      throw new UsageError('--users, --groups and --seed go with --generate');
    }
    const plan = options.generate === undefined ? null : generatePlan(options);
    const config = configOrExit(() => loadConfig());
    const path = String(options.file);
    const size = plan === null ? await fileSize(path) : 0;
    return withProducer(config, async (producer) => {
      if (plan === null) await produceFile(producer, config.kafkaTopic, path, size, options.progress === true);
      else await produceGenerated(new EventPublisher(producer, config.kafkaTopic), config.kafkaTopic, plan, options.progress === true);
      return 0;
    });
  },
};

const BATCH = 500;

function generatePlan(options: OptionValues): TrafficPlan {
  return {
    events: integerOption(options, 'generate', 1, 100_000_000),
    users: integerOption(options, 'users', 2, 1_000_000, 100),
    groups: integerOption(options, 'groups', 0, 1_000_000, 10),
    seed: integerOption(options, 'seed', 0, 1_000_000, 1),
  };
}

async function produceFile(producer: Producer, topic: string, path: string, size: number, forceProgress: boolean): Promise<void> {
  const progress = ProgressBar.start('produce', size, forceProgress);
  let records = 0;
  let invalid = 0;
  let bytes = 0;
  let batch: Message[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    await producer.send({ topic, acks: -1, messages: batch });
    records += batch.length;
    batch = [];
    progress.update(bytes, `${records} records`);
  };
  for await (const line of readLines(path)) {
    bytes += line.length + 1;
    if (line.toString('utf8').trim() === '') continue;
    const decoded = decodeRecord(line);
    if (!decoded.ok) invalid++;
    batch.push({ key: decoded.ok ? recordKeyOf(decoded.event) : keyOfInvalid(line), value: line });
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  progress.finish(`${records} records`);
  say(`produced: ${records} records to ${topic} from ${path} (${invalid} not valid events)`);
}

async function produceGenerated(publisher: EventPublisher, topic: string, plan: TrafficPlan, forceProgress: boolean): Promise<void> {
  const progress = ProgressBar.start('produce', plan.events, forceProgress);
  let sent = 0;
  let batch: EventRecord[] = [];
  const flush = async () => {
    await publisher.publishAll(batch);
    sent += batch.length;
    batch = [];
    progress.update(sent, `${sent}/${plan.events} events`);
  };
  for (const record of generateTraffic(plan)) {
    batch.push(record);
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  progress.finish(`${sent}/${plan.events} events`);
  say(`produced: ${sent} events to ${topic} (generated: users ${plan.users}, groups ${plan.groups}, seed ${plan.seed})`);
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    throw new Error(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** An invalid line keeps its channel's key when it names one, so a later replay stays in the channel's partition. */
function keyOfInvalid(line: Buffer): string {
  try {
    return channelKeyOfRaw(parseExactJson(line.toString('utf8'))) ?? 'invalid';
  } catch {
    return 'invalid';
  }
}

/** The file's lines as raw bytes (no decoding, so invalid UTF-8 is sent as it is), without the '\n'. */
async function* readLines(path: string): AsyncGenerator<Buffer> {
  let rest = Buffer.alloc(0);
  for await (const chunk of createReadStream(path)) {
    let data = Buffer.concat([rest, chunk as Buffer]);
    let newline: number;
    while ((newline = data.indexOf(0x0a)) >= 0) {
      yield data.subarray(0, newline);
      data = data.subarray(newline + 1);
    }
    rest = data;
  }
  if (rest.length > 0) yield rest;
}

async function withProducer(config: AppConfig, work: (producer: Producer) => Promise<number>): Promise<number> {
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: 'conversation-sync-cli' });
  await ensureTopics(kafka, [{ topic: config.kafkaTopic, numPartitions: config.kafkaPartitions }]);
  const producer = createKeyedProducer(kafka);
  await producer.connect();
  try {
    return await work(producer);
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}
