export * from './postgres/database';
export * from './postgres/projection.repository';
export * from './postgres/checkpoint.repository';
export * from './postgres/maintenance.repository';
export * from './redis/redis-layout';
export * from './redis/projection.cache';
export * from './user-snapshot';
export * from './health';
