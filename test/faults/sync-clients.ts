import { parseExactJson } from '../support/json';

/**
 * HTTP access to whichever API instance is current, as a client behind a load
 * balancer sees it: connection errors while the API is being restarted are
 * retried; every answer is counted by status, and anything a client must never
 * see (5xx, a hang, a connection error outside a restart, another status) is
 * recorded with the fault phase it happened in.
 */
export class ApiAccess {
  /** Set from before the API gets SIGTERM until its successor is ready. */
  restarting = false;
  /** What is going on right now (a fault's name, or 'traffic'), for failure reports. */
  phase = 'start';
  readonly statuses = new Map<number, number>();
  readonly failures: { kind: string; at: string; phase: string; detail: string }[] = [];
  connectionRetries = 0;

  constructor(private baseUrl: string, private readonly startedAt = Date.now()) {}

  switchTo(baseUrl: string): void {
    this.baseUrl = baseUrl;
  }

  get serverErrors(): number {
    return this.failures.filter((f) => f.kind === '5xx').length;
  }

  private fail(kind: string, detail: string): void {
    this.failures.push({ kind, at: `+${((Date.now() - this.startedAt) / 1000).toFixed(1)}s`, phase: this.phase, detail });
  }

  /** POST /conversation/sync until it is answered 200 (retrying what a client would retry), or throws after `deadlineMs`. */
  async sync(body: Record<string, unknown>, deadlineMs = 60_000): Promise<any[]> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`sync ${JSON.stringify(body)} got no 200 answer within ${deadlineMs} ms`);
      const restartingBefore = this.restarting;
      let response: Response;
      let text: string;
      try {
        response = await fetch(`${this.baseUrl}/conversation/sync`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(10_000),
        });
        text = await response.text();
      } catch (error) {
        if ((error as Error).name === 'TimeoutError') {
          this.fail('hang', `no answer within 10 s to ${JSON.stringify(body)}`);
        } else if (restartingBefore || this.restarting) {
          this.connectionRetries++;
        } else {
          this.fail('connection error outside the API restart', `${String(error)} ${String((error as { cause?: unknown }).cause ?? '')}`);
        }
        await pause(50);
        continue;
      }
      this.statuses.set(response.status, (this.statuses.get(response.status) ?? 0) + 1);
      if (response.status === 200) return parseExactJson(text) as any[];
      this.fail(response.status >= 500 ? '5xx' : `status ${response.status}`, `${response.status} ${text.slice(0, 300)} for ${JSON.stringify(body)}`);
      await pause(100);
    }
  }
}

/** A device of one user: starts with a full sync, then asks with the highest version it has seen and merges the answers. */
export class SimulatedClient {
  private readonly conversations = new Map<string, any>();
  /** Highest version seen per conversation, tombstones included: a conversation's version must never go backwards. */
  private readonly versions = new Map<string, bigint>();
  private highest = 0n;
  syncs = 0;
  nonEmptyIncrementalAnswers = 0;
  tombstones = 0;
  readonly cursorViolations: string[] = [];

  constructor(readonly uid: string) {}

  async syncOnce(api: ApiAccess): Promise<void> {
    const asked = this.highest;
    // include_deleted: this client merges deletions (deleted: 1), so its view must equal the full sync.
    const answer = await api.sync({ uid: this.uid, version: asked.toString(), msg_count: 2, include_deleted: 1 });
    this.syncs++;
    if (asked > 0n && answer.length > 0) this.nonEmptyIncrementalAnswers++;
    for (const entry of answer) {
      const key = conversationKey(entry);
      const version = entry.version as bigint;
      if (typeof version !== 'bigint' && typeof version !== 'number') {
        this.cursorViolations.push(`${key}: version ${String(version)} is not an integer`);
        continue;
      }
      // At the cursor is allowed: a change not yet closed in every partition is reported at W (it comes again).
      if (asked > 0n && BigInt(version) < asked) this.cursorViolations.push(`${key}: version ${version} below the cursor ${asked}`);
      const known = this.versions.get(key);
      if (known !== undefined && BigInt(version) < known) this.cursorViolations.push(`${key}: version went back from ${known} to ${version}`);
      this.versions.set(key, BigInt(version));
      if (BigInt(version) > this.highest) this.highest = BigInt(version);
      if (entry.deleted === 1) {
        this.tombstones++;
        this.conversations.delete(key);
      } else {
        this.conversations.set(key, entry);
      }
    }
  }

  /** The highest version seen: what the next incremental sync asks from. */
  get cursor(): bigint {
    return this.highest;
  }

  /** The merged view, comparable with a full sync. */
  view(): ComparableSummary[] {
    return summaries([...this.conversations.values()]);
  }
}

export interface ComparableSummary {
  channel_id: string;
  channel_type: number;
  version: string;
  unread: number;
  last_msg_seq: number;
  readed_to_msg_seq: number;
  timestamp: number;
  last_client_msg_no: string;
}

export function summaries(conversations: any[]): ComparableSummary[] {
  return conversations
    .map((c) => ({
      channel_id: c.channel_id,
      channel_type: c.channel_type,
      version: String(c.version),
      unread: c.unread,
      last_msg_seq: c.last_msg_seq,
      readed_to_msg_seq: c.readed_to_msg_seq,
      timestamp: c.timestamp,
      last_client_msg_no: c.last_client_msg_no,
    }))
    .sort((a, b) => compareKeys(conversationKey(a), conversationKey(b)));
}

export function conversationKey(c: { channel_type: unknown; channel_id: unknown }): string {
  return JSON.stringify([c.channel_type, c.channel_id]);
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
