/** cluster-key-slot (used by ioredis itself) ships no types: the hash slot of a key, by its hash tag. */
declare module 'cluster-key-slot' {
  export default function calculateSlot(key: string | Buffer): number;
}
