import { RedisClient } from './redis/redis-layout';
import { Pool } from 'pg';

/** Readiness probes: resolve true when the dependency answers. */
export const postgresAnswers = (pool: Pool) => async () => (await pool.query('SELECT 1'), true);
export const redisAnswers = (redis: RedisClient) => async () => (await redis.ping()) === 'PONG';
