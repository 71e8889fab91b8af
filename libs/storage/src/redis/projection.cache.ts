import { ChannelRecord, ConversationRecord, IndexEntry, MessageRecord, RecentsRequest, SyncReadPlan, isVisibleTo, lanesReadBy } from '@cs/domain';
import { Cluster } from 'ioredis';
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
  RedisClient,
  STAMP_FIELD,
  isCluster,
  redisKeyPrefix,
  redisKeys,
  slotOf,
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

  /**
   * Redis Cluster: every script and pipeline stays inside one hash slot, so a
   * batch's commands are grouped per slot and sent side by side (the
   * watermark last), reads that span slots are split (the watermark read
   * first), and each slot carries its own complete marker (redisKeys.slotComplete).
   */
  private readonly cluster: boolean;

  constructor(private readonly redis: RedisClient) {
    this.cluster = isCluster(redis);
    // EVALSHA once the script is known on the connection (ioredis sends EVAL first on each new one).
    if (!('csReadStamp' in redis)) redis.defineCommand('csReadStamp', { numberOfKeys: 4, lua: READ_STAMP_SCRIPT });
    if (!('csReadIndex' in redis)) redis.defineCommand('csReadIndex', { numberOfKeys: 4, lua: READ_INDEX_SCRIPT });
  }

  /** Writes a batch's changed records and raises the watermark. Returns false when Redis was not complete (needs a rebuild). */
  /** `previousVersion`: the clock before the batch; records above it carry this batch's versions. */
  async writeBatch(changes: EncodedChanges, previousVersion: bigint, watermark: bigint): Promise<boolean> {
    const script = this.newScript();
    conversationCommands(script, changes.conversations);
    for (const channel of changes.channels) channelCommand(script, channel);
    messageCommands(script, changes.messages);
    // Each window that let go of messages drops them by score, in the same scripts as the batch's additions.
    for (const trim of changes.trims) script.add('ZREMRANGEBYSCORE', redisKeys.messageWindow(trim.channelKey, trim.lane), ['-inf', `(${trim.keepFromSeq}`]);
    if (!this.cluster) {
      script.add('SET', redisKeys.watermark, [watermark.toString()]);
      return this.runScripted(script);
    }
    // Cluster: the records of every slot first, then the watermark, which tells readers what is whole.
    const recordsComplete = await this.runScripted(script);
    const watermarkScript = this.newScript();
    watermarkScript.add('SET', redisKeys.watermark, [watermark.toString()]);
    return (await this.runScripted(watermarkScript)) && recordsComplete;
  }

  private newScript(): ScriptedCommands {
    return new ScriptedCommands(this.cluster ? slotOf : null);
  }

  /**
   * Runs the commands as a few EVALs of up to SCRIPT_CHUNK commands each, sent
   * in one pipeline: far less client work than thousands of separate
   * commands, and no single script blocks Redis (and the API's reads) for
   * long. Readers need no atomicity here: the watermark, set by the last
   * command, tells them what is whole. Returns whether Redis was complete
   * before the first command.
   */
  private async runScripted(script: ScriptedCommands): Promise<boolean> {
    const runs = script.finish();
    if (this.cluster) {
      // One EVAL per slot group and chunk, each declaring its keys; auto-pipelining sends them per node.
      const replies = await Promise.all(
        runs.map(({ slot, keys, packed }) =>
          this.redis.eval(APPLY_COMMANDS_SCRIPT, keys.length + 1, markerOf(slot), ...keys, packed) as Promise<number>,
        ),
      );
      return replies.every((complete) => complete === 1);
    }
    const pipeline = this.redis.pipeline();
    for (const { packed } of runs) pipeline.eval(APPLY_COMMANDS_SCRIPT, 1, redisKeys.complete, packed);
    const results = await pipeline.exec();
    if (!results) throw new Error('Redis pipeline failed');
    for (const [error] of results) if (error) throw error;
    return results[0][1] === 1;
  }

  /** Makes the next batch (or the repair timer) rebuild Redis from PostgreSQL. */
  async markIncomplete(): Promise<void> {
    await this.redis.del(redisKeys.complete);
  }

  /** Cluster: also one slot marker per master, so a node that restarted empty is noticed even before a batch touches it. */
  async isComplete(): Promise<boolean> {
    if ((await this.redis.exists(redisKeys.complete)) !== 1) return false;
    if (!isCluster(this.redis)) return true;
    const found = await Promise.all(slotPerMaster(this.redis).map((slot) => this.redis.exists(redisKeys.slotComplete(slot))));
    return found.every((exists) => exists === 1);
  }


  /** Replaces everything with the records given (the PostgreSQL truth), then marks Redis complete. */
  async rebuild(records: AsyncIterable<StoredRecords>, watermark: bigint): Promise<void> {
    await this.redis.del(redisKeys.complete);
    await unlinkMatching(this.redis, redisKeys.pattern);
    for await (const page of records) {
      const script = this.newScript();
      for (const record of page.channels ?? []) channelCommand(script, { record, text: encodeChannel(record) });
      conversationCommands(script, (page.conversations ?? []).map(({ record, entry }) => ({ record, text: encodeConversation(record), entry })));
      messageCommands(script, (page.messages ?? []).map((record) => ({ record, text: encodeMessage(record) })));
      if (!script.isEmpty()) await this.runScripted(script);
    }
    if (this.cluster) await Promise.all(Array.from({ length: SLOTS }, (_, slot) => this.redis.set(redisKeys.slotComplete(slot), '1')));
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
    if (this.cluster) return this.readStampAcrossSlots(uid);
    return new Promise((resolve, reject) => {
      if (this.stampReads.push({ uid, resolve, reject }) === 1) setImmediate(() => this.sendStampReads());
    });
  }

  private sendStampReads(): void {
    const reads = this.stampReads;
    this.stampReads = [];
    const pipeline = this.redis.pipeline() as unknown as StampPipeline;
    for (const { uid } of reads) pipeline.csReadStamp(...stampKeys(uid), STAMP_FIELD, redisKeyPrefix());
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

  /** Cluster: READ_STAMP_SCRIPT's reads split by slot — the global keys first, then the user's, then each large group's. */
  private async readStampAcrossSlots(uid: string): Promise<{ stamp: bigint; watermark: bigint } | null> {
    const watermark = await this.readWatermark();
    if (watermark === null) return null;
    const hash = redisKeys.userConversations(uid);
    const user = await this.redis.pipeline().hget(hash, STAMP_FIELD).smembers(redisKeys.userLargeGroups(uid)).exists(userSlotMarker(uid)).exec();
    if (!user || user.some(([error]) => error)) return null;
    const [[, stampText], [, large], [, complete]] = user as [unknown, unknown][];
    if (complete !== 1) return null;
    const channels = await this.readChannels(large as string[]);
    if (channels === null) return null;
    let stamp = typeof stampText === 'string' ? BigInt(stampText) : 0n;
    for (const channel of channels.values()) if (channel.broadcastVersion > stamp) stamp = channel.broadcastVersion;
    return { stamp, watermark };
  }

  /** The watermark, or null when Redis is not complete; in a cluster read before anything it bounds. */
  private async readWatermark(): Promise<bigint | null> {
    const [watermark, complete] = await this.redis.mget(redisKeys.watermark, redisKeys.complete);
    return watermark === null || complete === null ? null : BigInt(watermark);
  }

  /**
   * Read commands ([name, key, ...args]) in one pipeline; in a cluster side
   * by side (auto-pipelined per node), with the complete marker of every slot
   * they read, so a node that restarted empty is not taken for data.
   */
  private async runReads(commands: string[][]): Promise<[Error | null, unknown][]> {
    if (!this.cluster) {
      const replies = await this.redis.pipeline(commands).exec();
      if (!replies) throw new Error('Redis pipeline failed');
      return replies;
    }
    const slots = [...new Set(commands.map((command) => slotOf(command[1])))];
    const [markers, replies] = await Promise.all([
      Promise.all(slots.map((slot) => this.redis.exists(redisKeys.slotComplete(slot)))),
      Promise.all(
        commands.map(([name, ...args]) =>
          this.redis.call(name, ...args).then(
            (reply): [Error | null, unknown] => [null, reply],
            (error: Error): [Error | null, unknown] => [error, null],
          ),
        ),
      ),
    ]);
    if (markers.some((exists) => exists !== 1)) throw new Error('a Redis Cluster slot is not complete (a node restarted empty?)');
    return replies;
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
    if (this.cluster) return this.readIndexAcrossSlots(uid, plan);
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

  /**
   * Cluster: the watermark first, then READ_INDEX_SCRIPT in the user's slot,
   * its first two keys the slot's complete marker (whose '1' stands in for
   * the watermark it no longer reads).
   */
  private async readIndexAcrossSlots(uid: string, plan: SyncReadPlan): Promise<{ watermark: bigint; large: string[]; firstRank: number; keys: string[] } | null> {
    const watermark = await this.readWatermark();
    if (watermark === null) return null;
    const marker = userSlotMarker(uid);
    if (plan.read === 'everything') return (await this.redis.exists(marker)) === 1 ? { watermark, large: [], firstRank: 0, keys: [] } : null;
    const indexKey = plan.read === 'changed' ? redisKeys.userByVersion(uid) : redisKeys.userByTime(uid);
    const args = plan.read === 'changed' ? ['changed', versionScore(plan.afterVersion)] : ['ranked', String(plan.from), String(plan.count)];
    const reply = await (this.redis as unknown as IndexReader).csReadIndex(marker, marker, redisKeys.userLargeGroups(uid), indexKey, ...args);
    if (reply === null) return null;
    const [, large, firstRank, keys] = reply;
    return { watermark, large, firstRank: Number(firstRank), keys };
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
    const found = await this.runReads(keys.map((key) => ['get', redisKeys.channel(key)])).catch(() => null);
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
      const replies = await this.runReads(pending.flatMap(({ request, fetch, keys }) => keys.map((key) => rangeCommand(key, request, fetch))));
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
 * field to a larger decimal only. With `slotOfKey` (Redis Cluster) commands
 * are grouped per hash slot and each run lists the keys it touches.
 */
class ScriptedCommands {
  private readonly runs: ScriptRun[] = [];
  private readonly open = new Map<number, { fields: string[]; keys: Set<string>; commands: number }>();

  constructor(private readonly slotOfKey: ((key: string) => number) | null) {}

  /** `alsoTouches`: keys among `args` (Cluster: declared too; they must share `key`'s slot). */
  add(name: string, key: string, args: readonly string[], alsoTouches: readonly string[] = []): void {
    const slot = this.slotOfKey === null ? 0 : this.slotOfKey(key);
    let group = this.open.get(slot);
    if (!group) this.open.set(slot, (group = { fields: [], keys: new Set(), commands: 0 }));
    group.fields.push(name, String(args.length + 1), key);
    for (const arg of args) group.fields.push(arg);
    if (this.slotOfKey !== null) for (const touched of [key, ...alsoTouches]) group.keys.add(touched);
    if (++group.commands === SCRIPT_CHUNK) this.pack(slot);
  }

  isEmpty(): boolean {
    return this.runs.length === 0 && this.open.size === 0;
  }

  /** One packed argument per script run. */
  finish(): ScriptRun[] {
    for (const slot of [...this.open.keys()]) this.pack(slot);
    return this.runs;
  }

  private pack(slot: number): void {
    const group = this.open.get(slot)!;
    this.runs.push({ slot, keys: [...group.keys], packed: Buffer.from(group.fields.join(FIELD_SEPARATOR)) });
    this.open.delete(slot);
  }
}

interface ScriptRun {
  slot: number;
  /** The keys the run touches (Cluster only: a script must declare them). */
  keys: string[];
  packed: Buffer;
}

const SLOTS = 16_384;

/** The complete marker a script run in `slot` checks: the global one in the watermark's slot, the slot's own elsewhere. */
function markerOf(slot: number): string {
  return slot === slotOf(redisKeys.watermark) ? redisKeys.complete : redisKeys.slotComplete(slot);
}

/** One slot each master serves, by the client's current slot map. */
function slotPerMaster(cluster: Cluster): number[] {
  const firstSlot = new Map<string, number>();
  cluster.slots.forEach((nodes, slot) => {
    const master = nodes?.[0];
    if (master !== undefined && !firstSlot.has(master)) firstSlot.set(master, slot);
  });
  return [...firstSlot.values()];
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
  csReadStamp(...keysThenArgs: string[]): void;
  exec(): Promise<[Error | null, [string, string] | null][] | null>;
}

/** The complete marker of the slot the user's keys are in. */
function userSlotMarker(uid: string): string {
  return redisKeys.slotComplete(slotOf(redisKeys.userConversations(uid)));
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
      script.add('ENTRY', hash, [...userKeys, record.channelKey, text, ...placed], userKeys);
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
