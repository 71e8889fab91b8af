import { ImEvent, validateEvent } from '@cs/domain';
import { parseExactJson } from '@cs/json';

export type DecodedRecord = { ok: true; event: ImEvent } | { ok: false; reason: string };

/** A Kafka record value to an event, or the reason it is a dead letter. Never throws. */
export function decodeRecord(value: Buffer | null): DecodedRecord {
  if (value === null) return { ok: false, reason: 'value: missing (tombstone record)' };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(value);
  } catch {
    return { ok: false, reason: 'value: not valid UTF-8' };
  }
  let parsed: unknown;
  try {
    parsed = parseExactJson(text);
  } catch {
    return { ok: false, reason: 'value: not valid JSON' };
  }
  return validateEvent(parsed);
}
