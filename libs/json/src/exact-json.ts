import { parse as parseLossless } from 'lossless-json';

/**
 * JSON.parse that never rounds an integer: integer literals beyond 2^53 become
 * bigint, every other number stays a number.
 *
 * Fast path: text without a run of 16+ digits cannot hold such an integer and
 * goes straight to JSON.parse. Otherwise those literals are quoted with a
 * marker, parsed natively, and turned into bigint afterwards; text that
 * already holds the marker takes the slow exact parser instead.
 */
export function parseExactJson(text: string): unknown {
  if (!LONG_DIGIT_RUN.test(text)) return JSON.parse(text);
  if (MARKER_IN_SOURCE.test(text)) return parseLossless(text, null, parseNumberExactly);
  const marked = markUnsafeIntegers(text);
  const value: unknown = JSON.parse(marked);
  return marked === text ? value : reviveMarked(value);
}

const LONG_DIGIT_RUN = /\d{16}/;
const INTEGER_LITERAL = /^-?\d+$/;
/** U+0001 then U+0002: written as JSON escapes in the marked text. */
const MARK = '\u0001\u0002';
const MARK_SOURCE = '\\u0001\\u0002';
const MARKER_IN_SOURCE = /\\u0001/i;

function parseNumberExactly(literal: string): number | bigint {
  if (INTEGER_LITERAL.test(literal)) {
    const asNumber = Number(literal);
    return Number.isSafeInteger(asNumber) ? asNumber : BigInt(literal);
  }
  return Number(literal);
}

const QUOTE = 34;
const BACKSLASH = 92;
const MINUS = 45;
const PLUS = 43;
const DOT = 46;
const COLON = 58;
const isDigit = (code: number) => code >= 48 && code <= 57;
const isExponent = (code: number) => code === 101 || code === 69;
const isNumberPart = (code: number) => isDigit(code) || isExponent(code) || code === DOT || code === PLUS || code === MINUS;
const isWhitespace = (code: number) => code === 32 || code === 10 || code === 13 || code === 9;

/**
 * Wraps unsafe integer literals outside strings as "<MARK>digits"; leaves everything else as it is.
 * Marking never makes invalid JSON valid: a string stands wherever a number may, and where only a
 * string may (a key, always followed by ':') the literal is left alone for JSON.parse to reject.
 */
function markUnsafeIntegers(text: string): string {
  let out = '';
  let copiedUpTo = 0;
  const length = text.length;
  let i = 0;
  while (i < length) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) {
      i++;
      while (i < length) {
        const inner = text.charCodeAt(i);
        if (inner === BACKSLASH) i += 2;
        else if (inner === QUOTE) {
          i++;
          break;
        } else i++;
      }
      continue;
    }
    if (code === MINUS || isDigit(code)) {
      const start = i;
      i++;
      while (i < length && isDigit(text.charCodeAt(i))) i++;
      const next = i < length ? text.charCodeAt(i) : 0;
      if (next === DOT || isExponent(next)) {
        // A double: its fraction and exponent digits are no integer literal of their own.
        while (i < length && isNumberPart(text.charCodeAt(i))) i++;
        continue;
      }
      const literal = text.slice(start, i);
      const isPlainInteger = /^-?(0|[1-9]\d*)$/.test(literal);
      if (isPlainInteger && literal.length >= 16 && !Number.isSafeInteger(Number(literal)) && !isKey(text, i)) {
        out += `${text.slice(copiedUpTo, start)}"${MARK_SOURCE}${literal}"`;
        copiedUpTo = i;
      }
      continue;
    }
    i++;
  }
  return copiedUpTo === 0 ? text : out + text.slice(copiedUpTo);
}

/** Whether what ends at `end` stands where a key does: the next token is ':'. */
function isKey(text: string, end: number): boolean {
  let i = end;
  while (i < text.length && isWhitespace(text.charCodeAt(i))) i++;
  return text.charCodeAt(i) === COLON;
}

function reviveMarked(value: unknown): unknown {
  if (typeof value === 'string') return value.startsWith(MARK) ? BigInt(value.slice(MARK.length)) : value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = reviveMarked(value[i]);
    return value;
  }
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = reviveMarked(record[key]);
  }
  return value;
}
