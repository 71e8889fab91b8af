import { parse as parseLossless } from 'lossless-json';

/**
 * JSON.parse that never rounds an integer: integer literals beyond 2^53 become
 * bigint, every other number stays a number. Text without a run of 16+ digits
 * cannot hold such an integer, so it takes the fast native path.
 */
export function parseExactJson(text: string): unknown {
  if (!LONG_DIGIT_RUN.test(text)) return JSON.parse(text);
  return parseLossless(text, null, parseNumberExactly);
}

const LONG_DIGIT_RUN = /\d{16}/;
const INTEGER_LITERAL = /^-?\d+$/;

function parseNumberExactly(literal: string): number | bigint {
  if (INTEGER_LITERAL.test(literal)) {
    const asNumber = Number(literal);
    return Number.isSafeInteger(asNumber) ? asNumber : BigInt(literal);
  }
  return Number(literal);
}

/** A JSON string literal. */
export function jsonString(value: string): string {
  return JSON.stringify(value);
}
