import Redis from 'ioredis';
import { Pool } from 'pg';

export type DependencyStatus = Record<string, 'up' | 'down'>;

/** Pings PostgreSQL and Redis, each bounded to `timeoutMs`. */
export async function checkDependencies(pool: Pool, redis: Redis, timeoutMs = 1_500): Promise<DependencyStatus> {
  const [postgres, redisUp] = await Promise.all([
    withTimeout(pool.query('SELECT 1'), timeoutMs),
    withTimeout(redis.ping(), timeoutMs),
  ]);
  return { postgres: postgres ? 'up' : 'down', redis: redisUp ? 'up' : 'down' };
}

async function withTimeout(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([work.then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
