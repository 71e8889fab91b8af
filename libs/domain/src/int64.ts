export const INT64_MAX = 9223372036854775807n;
export const INT64_MIN = -9223372036854775808n;

/** Reads an int64 given as a JSON integer (number or bigint) or a decimal string; undefined if it is not one. */
export function toInt64(value: unknown): bigint | undefined {
  let result: bigint;
  if (typeof value === 'bigint') result = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) result = BigInt(value);
  else if (typeof value === 'string' && /^-?\d{1,19}$/.test(value)) result = BigInt(value);
  else return undefined;
  return result >= INT64_MIN && result <= INT64_MAX ? result : undefined;
}

export function maxBigint(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
