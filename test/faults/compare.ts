import { conversationKey } from './sync-clients';

/**
 * Compares a user's full sync from the API with the reference model's answer
 * for the same user. Versions are not comparable (the reference hands out its
 * own) and neither is the order of conversations with equal timestamps (it
 * follows versions), so conversations are matched by (channel_type, channel_id)
 * and every other field is compared, recents included.
 */
export function diffFullSync(actual: any[], expected: any[]): string[] {
  const problems: string[] = [];
  for (let i = 1; i < actual.length; i++) {
    if (actual[i - 1].timestamp < actual[i].timestamp) {
      problems.push(`not ordered by timestamp: ${conversationKey(actual[i - 1])} before ${conversationKey(actual[i])}`);
      break;
    }
  }
  const byKey = (list: any[]) => new Map(list.map((c) => [conversationKey(c), comparable(c)]));
  const got = byKey(actual);
  const want = byKey(expected);
  if (got.size !== actual.length) problems.push(`a conversation appears twice (${actual.length} entries, ${got.size} distinct)`);
  for (const [key, expectedEntry] of want) {
    const actualEntry = got.get(key);
    if (actualEntry === undefined) {
      problems.push(`missing ${key}: expected ${brief(expectedEntry)}`);
      continue;
    }
    for (const field of Object.keys(expectedEntry)) {
      if (field === 'recents') {
        problems.push(...diffRecents(key, actualEntry.recents as any[], expectedEntry.recents as any[]));
        continue;
      }
      const a = JSON.stringify(actualEntry[field]);
      const e = JSON.stringify(expectedEntry[field]);
      if (a !== e) problems.push(`${key}.${field}: got ${shorten(a)}, expected ${shorten(e)}`);
    }
    for (const field of Object.keys(actualEntry)) {
      if (!(field in expectedEntry)) problems.push(`${key}.${field}: unexpected field, got ${shorten(JSON.stringify(actualEntry[field]))}`);
    }
  }
  for (const [key, actualEntry] of got) if (!want.has(key)) problems.push(`unexpected ${key}: ${brief(actualEntry)}`);
  return problems;
}

function diffRecents(key: string, actual: any[], expected: any[]): string[] {
  const seqs = (list: any[]) => list.map((m) => m.message_seq).join(',');
  if (seqs(actual) !== seqs(expected)) return [`${key}.recents: got seqs [${seqs(actual)}], expected [${seqs(expected)}]`];
  for (let i = 0; i < expected.length; i++) {
    const a = JSON.stringify(actual[i]);
    const e = JSON.stringify(expected[i]);
    if (a !== e) return [`${key}.recents[${i}]: got ${shorten(a)}, expected ${shorten(e)}`];
  }
  return [];
}

/** Everything but the version, with int64 values as strings. */
function comparable(conversation: any): Record<string, unknown> {
  const { version: _version, recents, ...rest } = conversation;
  return JSON.parse(
    JSON.stringify({ ...rest, recents: (recents ?? []).map((m: any) => ({ ...m })) }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
  );
}

function brief(entry: Record<string, unknown>): string {
  const { recents, ...rest } = entry as { recents?: { message_seq: number }[] };
  return `${JSON.stringify(rest)} recents=[${(recents ?? []).map((m) => m.message_seq).join(',')}]`;
}

function shorten(text: string): string {
  return text.length > 400 ? `${text.slice(0, 400)}…` : text;
}
