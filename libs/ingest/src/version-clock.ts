import { VERSION_STEP, nextVersionStep } from '@cs/domain';

const startNs = BigInt(Date.now()) * 1_000_000n;
const startHr = process.hrtime.bigint();

/** Wall-clock nanoseconds since the epoch, monotonic within this process. */
export function nowNs(): bigint {
  return startNs + (process.hrtime.bigint() - startHr);
}

/**
 * Versions for `count` events: multiples of VERSION_STEP nanoseconds (exact
 * as JavaScript numbers, see @cs/domain version-step), the first the next
 * multiple above max(now, last version handed out), so a clock that steps
 * back never reorders versions.
 */
export function nextVersions(lastVersion: bigint, count: number, now = nowNs()): bigint[] {
  const first = nextVersionStep(now > lastVersion ? now : lastVersion);
  return Array.from({ length: count }, (_, i) => first + BigInt(i) * VERSION_STEP);
}
