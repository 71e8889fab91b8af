import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CONFIG_VARIABLES } from '../libs/config/src';

/**
 * Static checks of docker-compose.yml and Dockerfile: no Docker engine is needed.
 * They keep the compose file in step with the variables the apps actually read.
 */

const ROOT = join(__dirname, '..');

type Scalar = string | number | boolean | null;

interface Healthcheck {
  test?: string | string[];
  disable?: boolean;
}

interface LongPort {
  target: number | string;
  published?: number | string;
}

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string | string[];
  environment?: Record<string, Scalar> | string[];
  ports?: Array<string | number | LongPort>;
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: Healthcheck;
}

interface ComposeFile {
  services: Record<string, ComposeService>;
}

const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as ComposeFile;
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

const INFRA = ['kafka', 'postgres', 'redis'] as const;
const APPS = { api: 5001, consumer: 5002 } as const;
type AppName = keyof typeof APPS;
const APP_NAMES = Object.keys(APPS) as AppName[];
const PORT_VARIABLE: Record<AppName, string> = { api: 'API_PORT', consumer: 'CONSUMER_HTTP_PORT' };
const KNOWN_VARIABLES: ReadonlySet<string> = new Set<string>(CONFIG_VARIABLES);

function service(name: string): ComposeService {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
  return s;
}

function environment(s: ComposeService): Map<string, string> {
  const env = new Map<string, string>();
  const raw = s.environment ?? {};
  if (Array.isArray(raw)) {
    for (const entry of raw) {
      const eq = entry.indexOf('=');
      env.set(eq < 0 ? entry : entry.slice(0, eq), eq < 0 ? '' : entry.slice(eq + 1));
    }
  } else {
    for (const [key, value] of Object.entries(raw)) env.set(key, value === null ? '' : String(value));
  }
  return env;
}

/** Published host port -> container port. */
function publishedPorts(s: ComposeService): Map<number, number> {
  const ports = new Map<number, number>();
  for (const p of s.ports ?? []) {
    if (typeof p === 'object') {
      if (p.published !== undefined) ports.set(Number(p.published), Number(p.target));
      continue;
    }
    const parts = String(p).split('/')[0].split(':'); // [ip:]host:container
    if (parts.length >= 2) ports.set(Number(parts[parts.length - 2]), Number(parts[parts.length - 1]));
  }
  return ports;
}

function dependencies(s: ComposeService): Record<string, { condition?: string }> {
  const deps = s.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, {}]));
  return deps;
}

function healthcheckCommand(s: ComposeService): string {
  const test = s.healthcheck?.test;
  return Array.isArray(test) ? test.join(' ') : (test ?? '');
}

describe('docker-compose.yml', () => {
  it('defines the infrastructure and application services', () => {
    for (const name of [...INFRA, ...APP_NAMES]) expect(compose.services).toHaveProperty(name);
    expect(service('kafka').image).toBe('apache/kafka:4.1.1');
  });

  it.each(INFRA)('%s has a healthcheck', (name) => {
    const hc = service(name).healthcheck;
    expect(hc?.disable).not.toBe(true);
    expect(healthcheckCommand(service(name))).not.toBe('');
  });

  it('runs kafka as a single KRaft node reachable as kafka:9092', () => {
    const env = environment(service('kafka'));
    expect(env.get('KAFKA_PROCESS_ROLES')?.split(',').sort()).toEqual(['broker', 'controller']);
    expect(env.get('KAFKA_ADVERTISED_LISTENERS')).toBe('PLAINTEXT://kafka:9092');
    expect(env.get('KAFKA_CONTROLLER_LISTENER_NAMES')).toBe('CONTROLLER');
    expect(env.get('KAFKA_CONTROLLER_QUORUM_VOTERS')).toBe(`${env.get('KAFKA_NODE_ID')}@kafka:9093`);
    expect(env.get('KAFKA_LISTENERS')).toContain('CONTROLLER://:9093');
    expect(env.get('KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR')).toBe('1');
    expect(healthcheckCommand(service('kafka'))).toContain('kafka-broker-api-versions.sh');
  });

  describe.each(APP_NAMES)('%s', (name) => {
    const s = service(name);
    const env = environment(s);
    const port = APPS[name];

    it('is built from the repository Dockerfile', () => {
      expect(s.build).toBeDefined();
    });

    it('waits for healthy kafka, postgres and redis', () => {
      const deps = dependencies(s);
      for (const infra of INFRA) expect(deps[infra]?.condition).toBe('service_healthy');
    });

    it(`publishes port ${port} and listens on it`, () => {
      expect(publishedPorts(s).get(port)).toBe(port);
      expect(env.get(PORT_VARIABLE[name])).toBe(String(port));
    });

    it('has an HTTP liveness healthcheck on its port', () => {
      expect(healthcheckCommand(s)).toContain(`127.0.0.1:${port}/health/live`);
    });

    it('sets only environment variables the apps read', () => {
      const unknown = [...env.keys()].filter((key) => !KNOWN_VARIABLES.has(key));
      expect(unknown).toEqual([]);
    });

    it('points at the compose services', () => {
      const brokers = (env.get('KAFKA_BROKERS') ?? '').split(',').map((b) => b.trim());
      expect(brokers.length).toBeGreaterThan(0);
      for (const broker of brokers) expect(broker).toBe('kafka:9092');

      const db = new URL(env.get('DATABASE_URL') ?? '');
      expect(db.protocol).toMatch(/^postgres(ql)?:$/);
      expect(db.hostname).toBe('postgres');
      expect(db.port === '' ? 5432 : Number(db.port)).toBe(5432);

      const redis = new URL(env.get('REDIS_URL') ?? '');
      expect(redis.protocol).toBe('redis:');
      expect(redis.hostname).toBe('redis');
      expect(redis.port === '' ? 6379 : Number(redis.port)).toBe(6379);

      for (const infra of [db.hostname, redis.hostname, ...brokers.map((b) => b.split(':')[0])]) {
        expect(compose.services).toHaveProperty(infra);
      }
    });
  });

  it('starts the consumer entry point on the consumer service', () => {
    expect(service('consumer').command).toEqual(['node', 'dist/apps/consumer/main.js']);
    expect(service('api').command).toBeUndefined(); // the image default runs the API
  });
});

describe('Dockerfile', () => {
  const instructions = dockerfile
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));

  it('runs the final stage as a non-root user', () => {
    const lastFrom = instructions.map((l) => /^FROM\s/i.test(l)).lastIndexOf(true);
    const users = instructions.slice(lastFrom).filter((l) => /^USER\s/i.test(l));
    expect(users.length).toBeGreaterThan(0);
    const user = users[users.length - 1].split(/\s+/)[1].split(':')[0];
    expect(['root', '0']).not.toContain(user);
  });

  it('defaults to the API entry point in production mode', () => {
    expect(instructions).toContain('ENV NODE_ENV=production');
    expect(instructions.filter((l) => /^CMD\s/i.test(l)).pop()).toMatch(/"dist\/apps\/api\/main\.js"/);
  });
});
