import { configOrExit, loadConfig } from '@cs/config';
import { migrate } from '@cs/storage';

const USAGE = `Usage: npm run cli -- <command>

Commands:
  migrate     apply pending PostgreSQL migrations to DATABASE_URL (creates the database if missing)
`;

/** Operator commands. Configuration comes from the same environment variables as the apps. */
async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'migrate': {
      const config = configOrExit(() => loadConfig());
      const applied = await migrate(config.databaseUrl);
      process.stdout.write(applied.length > 0 ? `applied migrations ${applied.join(', ')}\n` : 'schema is up to date\n');
      return 0;
    }
    case undefined:
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
