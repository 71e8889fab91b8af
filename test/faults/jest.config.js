/** The fault-injection tier (`npm run test:faults`): real Kafka, PostgreSQL and Redis, apps as child processes, faults injected. */
const aliases = {};
for (const lib of ['domain', 'config', 'storage', 'kafka', 'json', 'ingest', 'observability', 'events']) aliases[`^@cs/${lib}$`] = `<rootDir>/libs/${lib}/src`;

module.exports = {
  rootDir: '../..',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/faults/**/*.faults.spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  // Type checking is done once by `npm run typecheck`; tests only transpile.
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json', diagnostics: false }] },
  moduleNameMapper: aliases,
  // The suite runs ~2 minutes of traffic and faults; it must still end well under 5 minutes.
  testTimeout: 270_000,
  maxWorkers: 1,
};
