import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** The domain is pure: rules only, no framework, database, cache or broker (STYLE.md). */
describe('libs/domain stays free of I/O', () => {
  const FORBIDDEN = /from '(@nestjs\/[^']+|pg|ioredis|kafkajs|fastify|node:(fs|net|http|child_process)|@cs\/(storage|kafka|ingest|observability|config))'/;

  function sources(directory: string): string[] {
    return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) return sources(path);
      return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
    });
  }

  it.each(sources(__dirname).map((path) => [relative(__dirname, path), path]))('%s imports no infrastructure', (_name, path) => {
    const offending = readFileSync(path, 'utf8').split('\n').filter((line) => FORBIDDEN.test(line));
    expect(offending).toEqual([]);
  });
});
