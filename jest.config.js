/** Unit (libs/**), integration and end-to-end (test/**) tiers; see README "Tests". */
const aliases = {};
for (const lib of ['domain', 'config', 'storage', 'kafka', 'json', 'ingest', 'observability', 'events']) aliases[`^@cs/${lib}$`] = `<rootDir>/libs/${lib}/src`;

module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/apps/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '\\.faults\\.spec\\.ts$'],
  // Type checking is done once by `npm run typecheck`; tests only transpile.
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json', diagnostics: false }] },
  moduleNameMapper: aliases,
  testTimeout: 60_000,
  maxWorkers: 2,
};
