import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const FIXTURES = join(__dirname, 'fixtures', 'dependency-rules');

/** The real `.dependency-cruiser.js` run over files that each break one rule (npm test runs it over the repository). */
describe('the import-graph rules', () => {
  const violations = (): string[] => {
    let output: string;
    try {
      output = execFileSync(process.execPath, [join(ROOT, 'node_modules', '.bin', 'depcruise'), 'apps', 'libs', '--config', join(ROOT, '.dependency-cruiser.js'), '--output-type', 'json'], {
        cwd: FIXTURES,
        encoding: 'utf8',
      });
    } catch (error) {
      output = (error as { stdout: string }).stdout; // depcruise exits non-zero when it finds violations
    }
    const result = JSON.parse(output) as { summary: { violations: { rule: { name: string }; from: string; to: string }[] } };
    return result.summary.violations.map(({ rule, from, to }) => `${rule.name}: ${from} -> ${to.replace(/^(\.\.\/)+node_modules\/([^/]+).*/, '$2')}`).sort();
  };

  it('finds every violation in the fixtures, and nothing in what is allowed', () => {
    expect(violations()).toEqual([
      'apps-not-into-other-apps: apps/api/src/main.ts -> apps/consumer/src/main.ts',
      'libs-domain-imports: libs/domain/src/node-module.ts -> fs',
      'libs-domain-imports: libs/domain/src/relative-into-storage.ts -> libs/storage/src/index.ts',
      'libs-domain-imports: libs/domain/src/required.ts -> ioredis',
      'libs-domain-imports: libs/domain/src/type-from-pg.ts -> pg',
      'libs-kafka-imports: libs/kafka/src/into-app.ts -> apps/api/src/main.ts',
      'libs-not-into-apps: libs/kafka/src/into-app.ts -> apps/api/src/main.ts',
      'no-cycles: libs/json/src/a.ts -> libs/json/src/b.ts',
    ]);
  });
});
