const startNs = BigInt(Date.now()) * 1_000_000n;
const startHr = process.hrtime.bigint();

/** Wall-clock nanoseconds since the epoch, monotonic within this process. */
export function nowNs(): bigint {
  return startNs + (process.hrtime.bigint() - startHr);
}

/**
 * Versions for `count` events: nanosecond timestamps, strictly above the last
 * version handed out (so a clock that steps back never reorders versions).
 */
export function nextVersions(lastVersion: bigint, count: number): bigint[] {
  const now = nowNs();
  const first = now > lastVersion ? now : lastVersion + 1n;
  return Array.from({ length: count }, (_, i) => first + BigInt(i));
}
