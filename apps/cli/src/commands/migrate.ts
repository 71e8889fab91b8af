import { configOrExit, loadConfig } from '@cs/config';
import { migrate } from '@cs/storage';
import { Command, say } from '../command';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply pending PostgreSQL migrations to DATABASE_URL (creates the database if missing)',
  help: `Usage: npm run cli -- migrate

Applies pending PostgreSQL migrations to DATABASE_URL, creating the database if
it is missing. Safe to run while the apps run (an advisory lock serialises it).
`,
  options: {},
  async run() {
    const config = configOrExit(() => loadConfig());
    const applied = await migrate(config.databaseUrl);
    say(applied.length > 0 ? `applied migrations ${applied.join(', ')}` : 'schema is up to date');
    return 0;
  },
};
