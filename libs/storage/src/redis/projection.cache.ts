import { ChannelRecord, ConversationRecord, IndexEntry, MessageRecord, RecentsRequest, SyncReadPlan, isVisibleTo, lanesReadBy } from '@cs/domain';
import Redis from 'ioredis';
import { StoredRecords } from '../postgres/projection.repository';
import { StoreSnapshot, SyncReadStore } from '../user-snapshot';
import {
  EncodedChanges,
  decodeChannel,
  decodeConversation,
  decodeMessage,
  encodeChannel,
  encodeConversation,
  encodeMessage,
} from '../record-codec';
import {
  APPLY_COMMANDS_SCRIPT,
  FIELD_SEPARATOR,
  READ_INDEX_SCRIPT,
  READ_STAMP_SCRIPT,
  STAMP_FIELD,
  redisKeys,
  timeMember,
  unlinkMatching,
  versionScore,
} from './redis-layout';

/**
 * The hot read path: the projection records mirrored in Redis. Writes happen
 * while the batch still holds the version clock, so Redis sees batches in
 * version order; `watermark` tells readers up to which version it is whole.
 */
export class ProjectionCache implements SyncReadStore {
  private stampReads: { uid: string; resolve: (stamp: { stamp: bigint; watermark: bigint } | null) => void; reject: (error: unknown) => void }[] = [];

  constructor(private readonly redis: Redis) {
    // EVALSHA once the script is known on the connection (ioredis sends EVAL first on each new one).
    if (!('csReadStamp' in redis)) redis.defineCommand('csReadStamp', { numberOfKeys: 4, lua: READ_STAMP_SCRIPT });
    if (!('csReadIndex' in redis)) redis.defineCommand('csReadIndex', { numberOfKeys: 4, lua: READ_INDEX_SCRIPT });
  }

  /** Writes a batch's changed records and raises the watermark. Returns false when Redis was not complete (needs a rebuild). */
  /** `previousVersion`: the clock before the batch; records above it carry this batch's versions. */
  async writeBatch(changes: EncodedChanges, previousVersion: bigint, watermark: bigint): Promise<boolean> {
    const script = new ScriptedCommands();
    conversationCommands(script, changes.conversations);
    for (const channel of changes.channels) channelCommand(script, channel);
    messageCommands(script, changes.messages);
    // Each window that let go of messages drops them by score, in the same scripts as the batch's additions.
    for (const trim of changes.trims) script.add('ZREMRANGEBYSCORE', redisKeys.messageWindow(trim.channelKey, trim.lane), ['-inf', `(${trim.keepFromSeq}`]);
    script.add('SET', redisKeys.watermark, [watermark.toString()]);
    return (await this.runScripted(script)) === 1;
  }

  /**
   * Runs the commands as a few EVALs of up to SCRIPT_CHUNK commands each, sent
   * in one pipeline: far less client work than thousands of separate
   * commands, and no single script blocks Redis (and the API's reads) for
   * long. Readers need no atomicity here: the watermark, set by the last
   * command, tells them what is whole. Returns whether Redis was complete
   * before the first command.
   */
  private async runScripted(script: ScriptedCommands): Promise<number> {
    const pipeline = this.redis.pipeline();
    for (const packed of script.finish()) pipeline.eval(APPLY_COMMANDS_SCRIPT, 1, redisKeys.complete, packed);
    const results = await pipeline.exec();
    if (!results) throw new Error('Redis pipeline failed');
    for (const [error] of results) if (error) throw error;
    return results[0][1] as number;
  }

  /** Makes the next batch (or the repair timer) rebuild Redis from PostgreSQL. */
  async markIncomplete(): Promise<void> {
    await this.redis.del(redisKeys.complete);
  }

  async isComplete(): Promise<boolean> {
    return (await this.redis.exists(redisKeys.complete)) === 1;
  }

  /** Replaces everything with the records given (the PostgreSQL truth), then marks Redis complete. */
  async rebuild(records: AsyncIterable<StoredRecords>, watermark: bigint): Promise<void> {
    await this.redis.del(redisKeys.complete);
    await unlinkMatching(this.redis, redisKeys.pattern);
    for await (const page of records) {
      const script = new ScriptedCommands();
      for (const record of page.channels ?? []) channelCommand(script, { record, text: encodeChannel(record) });
      conversationCommands(script, (page.conversations ?? []).map(({ record, entry }) => ({ record, text: encodeConversation(record), entry })));
      messageCommands(script, (page.messages ?? []).map((record) => ({ record, text: encodeMessage(record) })));
      if (!script.isEmpty()) await this.runScripted(script);
    }
    await this.redis.multi().set(redisKeys.watermark, watermark.toString()).set(redisKeys.complete, '1').exec();
  }

  /**
   * The highest version anything in the user's answer carries (their records'
   * stamp and their member channels' versions), with the watermark, without
   * decoding the records; null when Redis cannot tell. One script per user;
   * the reads asked for in one event-loop turn share one pipeline, so a busy
   * API pays one socket write and one read for many requests.
   */
  readStamp(uid: string): Promise<{ stamp: bigint; watermark: bigint } | null> {
    return new Promise((resolve, reject) => {
      if (this.stampReads.push({ uid, resolve, reject }) === 1) setImmediate(() => this.sendStampReads());
    });
  }

  private sendStampReads(): void {
    const reads = this.stampReads;
    this.stampReads = [];
    const pipeline = this.redis.pipeline() as unknown as StampPipeline;
    for (const { uid } of reads) pipeline.csReadStamp(...stampKeys(uid), STAMP_FIELD);
    pipeline.exec().then(
      (results) =>
        reads.forEach(({ resolve, reject }, i) => {
          const [error, reply] = results?.[i] ?? [new Error('Redis pipeline failed'), null];
          if (error) reject(error);
          else resolve(reply === null ? null : { stamp: BigInt(reply[0]), watermark: BigInt(reply[1]) });
        }),
      (error) => reads.forEach(({ reject }) => reject(error)),
    );
  }

  /**
   * What `plan` names, consistently, or null when Redis cannot give it
   * (incomplete, unreachable, or a batch landed mid-read three times in a
   * row): the index part in one script, then the records and channels.
   */
  async readSnapshot(uid: string, plan: SyncReadPlan): Promise<StoreSnapshot | null> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const snapshot = await this.tryReadSnapshot(uid, plan);
      if (snapshot !== 'retry') return snapshot;
    }
    return null;
  }

  private async tryReadSnapshot(uid: string, plan: SyncReadPlan): Promise<StoreSnapshot | null | 'retry'> {
    const index = await this.readIndex(uid, plan);
    if (index === null) return null;
    const { watermark, large, firstRank, keys } = index;
    const wanted = plan.read === 'everything' ? null : [...keys, ...large];
    const records = await this.readRecords(uid, wanted);
    if (records === null) return null;
    const conversations = records.map(decodeConversation);
    const channels = await this.readChannels(conversations.filter((c) => c.membership === 'member').map((c) => c.channelKey));
    if (channels === null) return null;
    // A record newer than the watermark was written after we read it: its batch may be half-seen.
    const tooNew =
      conversations.some((c) => c.version > watermark) || [...channels.values()].some((c) => c.broadcastVersion > watermark);
    if (tooNew) return 'retry';
    return { conversations, channels, bound: watermark, ranked: plan.read === 'ranked' ? { firstRank, keys } : undefined };
  }

  private async readIndex(uid: string, plan: SyncReadPlan): Promise<{ watermark: bigint; large: string[]; firstRank: number; keys: string[] } | null> {
    if (plan.read === 'everything') {
      const found = await this.redis.pipeline().get(redisKeys.watermark).exists(redisKeys.complete).exec();
      if (!found || found.some(([error]) => error)) return null;
      const [[, watermark], [, complete]] = found as [unknown, unknown][];
      return complete === 1 && typeof watermark === 'string' ? { watermark: BigInt(watermark), large: [], firstRank: 0, keys: [] } : null;
    }
    const indexKey = plan.read === 'changed' ? redisKeys.userByVersion(uid) : redisKeys.userByTime(uid);
    const args = plan.read === 'changed' ? ['changed', versionScore(plan.afterVersion)] : ['ranked', String(plan.from), String(plan.count)];
    const reply = await (this.redis as unknown as IndexReader).csReadIndex(
      redisKeys.watermark, redisKeys.complete, redisKeys.userLargeGroups(uid), indexKey, ...args,
    );
    if (reply === null) return null;
    const [watermark, large, firstRank, keys] = reply;
    return { watermark: BigInt(watermark), large, firstRank: Number(firstRank), keys };
  }

  /** The user's records among `keys` (all of them for null), in one round trip. */
  private async readRecords(uid: string, keys: string[] | null): Promise<string[] | null> {
    const hash = redisKeys.userConversations(uid);
    if (keys === null) return (await this.redis.hvals(hash)).filter(isRecord);
    if (keys.length === 0) return [];
    const found = await this.redis.hmget(hash, ...keys);
    return found.filter((text): text is string => text !== null && isRecord(text));
  }

  /** The channel records that exist among `keys`, in one round trip; null when Redis errs. */
  private async readChannels(keys: string[]): Promise<Map<string, ChannelRecord> | null> {
    const channels = new Map<string, ChannelRecord>();
    if (keys.length === 0) return channels;
    const found = await this.redis.pipeline(keys.map((key) => ['get', redisKeys.channel(key)])).exec();
    if (!found) return null;
    for (const [error, text] of found) {
      if (error) return null;
      if (typeof text === 'string') {
        const channel = decodeChannel(text);
        channels.set(channel.key, channel);
      }
    }
    return channels;
  }

  /** Each entry's recents, keyed as asked, none applied after `watermark`. */
  async readRecents(requests: ReadonlyMap<string, RecentsRequest>, watermark: bigint): Promise<Map<string, MessageRecord[]>> {
    const keys = [...requests.keys()];
    const found = await this.readRecentsInOrder([...requests.values()], watermark);
    return new Map(keys.map((key, i) => [key, found[i]]));
  }

  /**
   * Each request's windows (the channel's and the user's own) read newest
   * first and merged: usually one round trip; more only when messages the user
   * cannot see (removed members' later ones) or not yet whole fill a page.
   */
  private async readRecentsInOrder(requests: RecentsRequest[], watermark: bigint): Promise<MessageRecord[][]> {
    const result: MessageRecord[][] = requests.map(() => []);
    let pending = requests.map((request, index) => ({ request, index, fetch: request.count, keys: windowKeys(request.conversation) }));
    while (pending.length > 0) {
      const replies = await this.redis.pipeline(pending.flatMap(({ request, fetch, keys }) => keys.map((key) => rangeCommand(key, request, fetch)))).exec();
      if (!replies) throw new Error('Redis pipeline failed');
      let reply = 0;
      const next: typeof pending = [];
      for (const item of pending) {
        const windows = item.keys.map(() => {
          const [error, members] = replies[reply++];
          if (error) throw error;
          return (members as string[]).map(decodeMessage);
        });
        const order = item.request.oldestFirst ? 1 : -1;
        const candidates = windows.flat().sort((a, b) => order * (a.seq - b.seq));
        // A window that filled its page may hold more messages past its last one: merged
        // candidates are complete only up to the furthest of those last seqs.
        const fullWindows = windows.filter((messages) => messages.length === item.fetch);
        const lastSeqs = fullWindows.map((messages) => messages[messages.length - 1].seq);
        const boundary = lastSeqs.length === 0 ? null : order > 0 ? Math.min(...lastSeqs) : Math.max(...lastSeqs);
        const picked: MessageRecord[] = [];
        for (const message of candidates) {
          if (boundary !== null && order * (message.seq - boundary) > 0) break;
          const duplicate = picked.length > 0 && picked[picked.length - 1].seq === message.seq;
          if (!duplicate && picked.length < item.request.count && message.version <= watermark && isVisibleTo(item.request.conversation, message)) {
            picked.push(message);
          }
        }
        result[item.index] = picked;
        if (picked.length < item.request.count && fullWindows.length > 0) {
          next.push({ ...item, fetch: item.fetch * 4 });
        }
      }
      pending = next;
    }
    return result;
  }
}

/** A page of a channel's messages with seq in (after, upto], in the order the request asks. */
/** One window's messages in (afterSeq, uptoSeq], `fetch` of them from the requested end. */
function rangeCommand(key: string, request: RecentsRequest, fetch: number): string[] {
  const limit = ['LIMIT', '0', String(fetch)];
  return request.oldestFirst
    ? ['zrangebyscore', key, `(${request.afterSeq}`, String(request.uptoSeq), ...limit]
    : ['zrevrangebyscore', key, String(request.uptoSeq), `(${request.afterSeq}`, ...limit];
}

/**
 * Commands for APPLY_COMMANDS_SCRIPT, packed as they are added (name, argument
 * count, key, arguments: NUL-separated fields), SCRIPT_CHUNK commands per
 * script run, so each runs for a few milliseconds at most. 'RAISE' sets a hash
 * field to a larger decimal only.
 */
class ScriptedCommands {
  private readonly packed: Buffer[] = [];
  private fields: string[] = [];
  private commands = 0;

  add(name: string, key: string, args: readonly string[]): void {
    this.fields.push(name, String(args.length + 1), key);
    for (const arg of args) this.fields.push(arg);
    if (++this.commands === SCRIPT_CHUNK) this.pack();
  }

  isEmpty(): boolean {
    return this.packed.length === 0 && this.commands === 0;
  }

  /** One packed argument per script run. */
  finish(): Buffer[] {
    if (this.commands > 0) this.pack();
    return this.packed;
  }

  private pack(): void {
    this.packed.push(Buffer.from(this.fields.join(FIELD_SEPARATOR)));
    this.fields = [];
    this.commands = 0;
  }
}

const SCRIPT_CHUNK = 1_000;

/** Keeps every command well under Lua's unpack limit (8,000 values). */
const MAX_PAIRS_PER_COMMAND = 500;

type Encoded<T> = { record: T; text: string };

/** The connection with READ_INDEX_SCRIPT defined as a command. */
interface IndexReader {
  csReadIndex(...keysThenArgs: string[]): Promise<[string, string[], number, string[]] | null>;
}

/** The pipeline with READ_STAMP_SCRIPT defined as a command. */
interface StampPipeline {
  csReadStamp(...keysThenField: string[]): void;
  exec(): Promise<[Error | null, [string, string] | null][] | null>;
}

function stampKeys(uid: string): string[] {
  return [redisKeys.watermark, redisKeys.complete, redisKeys.userConversations(uid), redisKeys.userLargeGroups(uid)];
}

/** The user hash holds records (JSON arrays) and the stamp (a decimal). */
const isRecord = (value: string) => value.startsWith('[');

/**
 * Per conversation, its record and index entry in one ENTRY command; per
 * user, the stamp raised to the highest version among their entries (a
 * group crossing SMALL_GROUP_MAX_MEMBERS moves entries without new versions,
 * so the stamp is raised, never simply replaced).
 */
function conversationCommands(script: ScriptedCommands, conversations: (Encoded<ConversationRecord> & { entry: IndexEntry })[]): void {
  for (const [uid, encoded] of groupBy(conversations, (c) => c.record.uid)) {
    const hash = redisKeys.userConversations(uid);
    const userKeys = [redisKeys.userByVersion(uid), redisKeys.userByTime(uid), redisKeys.userTimeMembers(uid), redisKeys.userLargeGroups(uid)];
    let highest = 0n;
    for (const { record, text, entry } of encoded) {
      const version = entry.kind === 'indexed' && entry.version > record.version ? entry.version : record.version;
      if (version > highest) highest = version;
      const placed =
        entry.kind === 'large'
          ? ['', '', '']
          : [versionScore(entry.version), entry.timestamp === null ? '' : String(entry.timestamp), timeMember(entry.version, record.channelKey)];
      script.add('ENTRY', hash, [...userKeys, record.channelKey, text, ...placed]);
    }
    script.add('RAISE', hash, [STAMP_FIELD, highest.toString()]);
  }
}

function channelCommand(script: ScriptedCommands, channel: Encoded<ChannelRecord>): void {
  script.add('SET', redisKeys.channel(channel.record.key), [channel.text]);
}

/** One ZADD per message window (and per 500 messages). */
function messageCommands(script: ScriptedCommands, messages: Encoded<MessageRecord>[]): void {
  for (const [key, encoded] of groupBy(messages, (m) => redisKeys.messageWindow(m.record.channelKey, m.record.lane))) {
    const members: string[] = [];
    // Scores (seqs) as decimal strings: exact, whatever their size.
    for (const { record, text } of encoded) members.push(String(record.seq), text);
    for (const chunk of chunks(members, 2)) script.add('ZADD', key, chunk);
  }
}

function windowKeys(conversation: ConversationRecord): string[] {
  return lanesReadBy(conversation).map((lane) => redisKeys.messageWindow(conversation.channelKey, lane));
}

/** Splits into pieces of at most MAX_PAIRS_PER_COMMAND groups of `width` items (pairs stay whole). */
function chunks<T>(items: T[], width = 1): T[][] {
  const size = MAX_PAIRS_PER_COMMAND * width;
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

function groupBy<T>(items: T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}
