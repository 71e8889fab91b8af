import { INT64_MAX } from './int64';

/**
 * Every version is a multiple of VERSION_STEP nanoseconds. Such values up to
 * 2^63 are exact IEEE doubles (2^10 divides every double's step below 2^63),
 * so a client that parses versions with plain JSON.parse holds the exact value,
 * and the decimal JSON.stringify writes back is within half a step of the
 * double's spacing (128 at today's ~1.8e18) of it.
 */
export const VERSION_STEP = 1024n;

/**
 * Reads a version a client sent back as the nearest multiple of VERSION_STEP.
 * Below 2^62 (nanoseconds: the year 2116) a value that went through a double
 * is less than half a step from the multiple it stood for, so this recovers
 * it exactly. A tie (exactly half a step from two multiples; above 2^62 a
 * double's shortest decimal can land there) goes down, as does a value whose
 * upper multiple is beyond int64: asking from a lower version can only
 * return more, never skip a change.
 */
export function versionFromClient(sent: bigint): bigint {
  const below = sent - (sent % VERSION_STEP);
  const above = below + VERSION_STEP;
  return sent - below > VERSION_STEP / 2n && above <= INT64_MAX ? above : below;
}

/** The smallest multiple of VERSION_STEP strictly above `value` (value ≥ 0). */
export function nextVersionStep(value: bigint): bigint {
  return value - (value % VERSION_STEP) + VERSION_STEP;
}

/** The largest multiple of VERSION_STEP at or below `value` (value ≥ 0). */
export function versionStepAtOrBelow(value: bigint): bigint {
  return value - (value % VERSION_STEP);
}

/**
 * Versions for `count` events of one batch: consecutive multiples of
 * VERSION_STEP strictly above every floor given (the partition's last and
 * closed versions, the clock, what this process already wrote): a clock that
 * steps back never reorders a record's versions, and a partition never hands
 * out a version at or below its closed one.
 */
export function allocateVersions(floors: readonly bigint[], count: number): bigint[] {
  const floor = floors.reduce((highest, value) => (value > highest ? value : highest), 0n);
  const first = nextVersionStep(floor);
  return Array.from({ length: count }, (_, i) => first + BigInt(i) * VERSION_STEP);
}

/**
 * The version an answer reports for a conversation: its own, or the frontier
 * W (the lowest closed version over every partition, read before the records)
 * when it is above. Every change not yet whole has a version above W, so the
 * highest version in any answer is a safe cursor; a conversation above W is
 * sent again until W passes it, and what a client sees for it never goes down
 * (both its version and W only grow).
 */
export function reportedVersion(version: bigint, frontier: bigint): bigint {
  return version > frontier ? frontier : version;
}
