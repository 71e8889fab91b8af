import { Command, UsageError, parseOptions } from './command';
import { dlqListCommand } from './commands/dlq-list';
import { dlqReplayCommand } from './commands/dlq-replay';
import { migrateCommand } from './commands/migrate';
import { produceCommand } from './commands/produce';
import { rebuildCommand } from './commands/rebuild';

const COMMANDS: Command[] = [migrateCommand, produceCommand, rebuildCommand, dlqListCommand, dlqReplayCommand];

const USAGE = `Usage: npm run cli -- <command> [options]    (each command has --help)

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(12)}${c.summary}`).join('\n')}

Configuration comes from the apps' environment variables (KAFKA_BROKERS,
KAFKA_TOPIC, KAFKA_DLQ_TOPIC, KAFKA_GROUP_ID, DATABASE_URL, REDIS_URL, ...).
Results go to stdout, progress and logs to stderr. Exit status: 0 done,
1 failed or refused, 2 wrong usage.
`;

const DLQ_USAGE = `Usage: npm run cli -- dlq <list|replay> [options]

${COMMANDS.filter((c) => c.name.startsWith('dlq ')).map((c) => `  ${c.name.padEnd(12)}${c.summary}`).join('\n')}
`;

/** Operator commands: finds the command (one or two words), parses its options, runs it. */
async function main(argv: string[]): Promise<number> {
  const [first, second] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') return usage(USAGE, first !== undefined);
  if (first === 'dlq' && (second === undefined || second === '--help' || second === '-h')) return usage(DLQ_USAGE, second !== undefined);
  const words = first === 'dlq' ? 2 : 1;
  const command = COMMANDS.find((c) => c.name === argv.slice(0, words).join(' '));
  if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(argv.slice(0, words).join(' '))}`);
  const options = parseOptions(command, argv.slice(words));
  if (options.help) return usage(command.help, true);
  return command.run(options);
}

function usage(text: string, asked: boolean): number {
  (asked ? process.stdout : process.stderr).write(text);
  return asked ? 0 : 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n(run with --help for usage)\n`);
      process.exit(2);
    }
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
