const startNs = BigInt(Date.now()) * 1_000_000n;
const startHr = process.hrtime.bigint();

/** Wall-clock nanoseconds since the epoch, monotonic within this process (metrics only: versions take PostgreSQL's clock). */
export function nowNs(): bigint {
  return startNs + (process.hrtime.bigint() - startHr);
}
