export * from './exact-json';
