import { configOrExit, loadConfig } from '@cs/config';
import { createKafka } from '@cs/kafka';
import { Command, integerOption, say } from '../command';
import { describeDeadLetter, readDeadLetters } from '../dead-letters';

export const dlqListCommand: Command = {
  name: 'dlq list',
  summary: 'show the dead letters in KAFKA_DLQ_TOPIC with their reasons',
  help: `Usage: npm run cli -- dlq list [--limit N]

Reads KAFKA_DLQ_TOPIC from its start to its end offsets and prints one line per
dead letter, in DLQ order:

  <dlq partition>:<offset> source=<topic>/<partition>:<offset> reason="..." key="..." value="..."

reason, key and value are JSON strings (the value cut to 120 characters), so each
letter stays on one line. A last line counts them.

  --limit <N>   print only the first N dead letters (they are all counted)
`,
  options: { limit: { type: 'string' } },
  async run(options) {
    const limit = integerOption(options, 'limit', 0, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    const config = configOrExit(() => loadConfig());
    const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: 'conversation-sync-cli' });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const letters = await readDeadLetters(kafka, admin, config.kafkaDlqTopic);
      if (letters === null) {
        say(`0 dead letters: ${config.kafkaDlqTopic} (KAFKA_DLQ_TOPIC) does not exist`);
        return 0;
      }
      for (const letter of letters.slice(0, limit)) say(describeDeadLetter(letter));
      const shown = Math.min(limit, letters.length);
      say(`${letters.length} dead letters in ${config.kafkaDlqTopic}${shown < letters.length ? `, first ${shown} shown` : ''}`);
      return 0;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  },
};
