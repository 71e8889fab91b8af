/**
 * Rendered answers per (user, request), valid while the user's stamp is the
 * one they were computed under: a stamp changes with anything the answer
 * shows, so a hit is byte-for-byte the answer a fresh read would give. Kept
 * as bytes: a hit goes to the socket without being encoded again.
 * Least recently used entries go first once `maxBytes` is reached.
 */
export class AnswerCache {
  private readonly entries = new Map<string, { stamp: bigint; body: Buffer }>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(key: string, stamp: bigint): Buffer | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.stamp !== stamp) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.body;
  }

  set(key: string, stamp: bigint, body: Buffer): void {
    const size = key.length + body.length;
    if (size > this.maxBytes / 4) return;
    this.remove(key);
    this.entries.set(key, { stamp, body });
    this.bytes += size;
    for (const [oldest] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.remove(oldest);
    }
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.bytes -= key.length + entry.body.length;
  }
}
