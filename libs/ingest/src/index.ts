export * from './batch-applier';
export * from './dead-letter.publisher';
export * from './event-decoder';
export * from './version-clock';
export * from './frontier-closer';
