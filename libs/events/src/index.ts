export * from './event-records';
export * from './event-publisher';
