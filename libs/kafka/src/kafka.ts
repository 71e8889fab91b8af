import { TUNING } from '@cs/config';
import { Admin, Kafka, logLevel as KafkaLogLevel, LogEntry, Partitioners, Producer, ProducerConfig } from 'kafkajs';

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  /** Where kafkajs's own log lines go; defaults to stderr at warn and above. */
  log?: (level: 'error' | 'warn' | 'info' | 'debug', message: string, extra: Record<string, unknown>) => void;
}

export function createKafka({ brokers, clientId, log }: KafkaSettings): Kafka {
  const sink = log ?? defaultLog;
  return new Kafka({
    clientId,
    brokers,
    connectionTimeout: TUNING.kafka.connectionTimeoutMs,
    requestTimeout: TUNING.kafka.requestTimeoutMs,
    retry: { ...TUNING.kafka.retry },
    logLevel: KafkaLogLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...extra } = entry.log;
      sink(LEVEL_NAMES[entry.level] ?? 'info', `kafkajs ${entry.namespace}: ${message}`, extra);
    },
  });
}

const LEVEL_NAMES: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

function defaultLog(level: string, message: string, extra: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ level, msg: message, ...extra })}\n`);
}

/** Creates the topics that are missing (a fresh topic name must just work). */
export async function ensureTopics(kafka: Kafka, topics: { topic: string; numPartitions: number }[]): Promise<void> {
  const admin: Admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter(({ topic }) => !existing.has(topic));
    if (missing.length > 0) {
      await admin.createTopics({ topics: missing.map((t) => ({ ...t, replicationFactor: -1 })), waitForLeaders: true });
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * A producer of channel-keyed records. The partitioner is named, not left to
 * kafkajs' default: murmur2 of the key, as Java producers use, so every
 * producer of a channel's events (other teams', the API, the CLI) puts them on
 * one partition.
 */
export function createKeyedProducer(kafka: Kafka, options: Omit<ProducerConfig, 'createPartitioner'> = {}): Producer {
  return kafka.producer({ allowAutoTopicCreation: false, ...options, createPartitioner: Partitioners.DefaultPartitioner });
}
