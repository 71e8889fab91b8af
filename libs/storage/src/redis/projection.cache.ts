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
  MovedEntry,
} from '../record-codec';
import {
  APPLY_COMMANDS_SCRIPT,
  FIELD_SEPARATOR,
  PUBLISH_FRONTIER_SCRIPT,
  READ_INDEX_SCRIPT,
  READ_STAMPS_SCRIPT,
  RedisClient,
  STAMP_FIELD,
  frontierField,
  frontierOf,
  isCluster,
  redisKeyPrefix,
  redisKeys,
  slotOf,
  timeMember,
  unlinkMatching,
  versionScore,
} from './redis-layout';

/** A partition's closed version, as published to the frontier. */
export interface ClosedPartition {
  partition: number;
  closedVersion: bigint;
}

/**
 * The hot read path: the projection records mirrored in Redis. Batches of
 * different partitions write side by side; the frontier (closed versions per
 * partition, published after each commit and by the closer) gives W: every
 * record at or below it is whole, and readers report versions as min(version, W).
 */
export class ProjectionCache implements SyncReadStore {
  private stampReads: StampRead[] = [];
  private highestFrontier: bigint | null = null;

  /**
   * Redis Cluster: every script and pipeline stays inside one hash slot, so a
   * batch's commands are grouped per slot and sent side by side, reads that
   * span slots are split (W, in the {global} slot, read first), and each slot
   * carries its own complete marker (redisKeys.slotComplete).
   */
  private readonly cluster: boolean;

  constructor(private readonly redis: RedisClient) {
    this.cluster = isCluster(redis);
    // EVALSHA once the script is known on the connection (ioredis sends EVAL first on each new one).
    if (!('csReadStamps' in redis)) redis.defineCommand('csReadStamps', { lua: READ_STAMPS_SCRIPT });
    if (!('csReadIndex' in redis)) redis.defineCommand('csReadIndex', { numberOfKeys: 5, lua: READ_INDEX_SCRIPT });
    if (!('csPublishFrontier' in redis)) redis.defineCommand('csPublishFrontier', { numberOfKeys: 1, lua: PUBLISH_FRONTIER_SCRIPT });
  }

  /**
   * Writes a batch's changed records (conversation and channel records only
   * over ones an earlier batch wrote: `writtenAt` is this batch's highest
   * version). `complete`: Redis was complete (else it needs a rebuild);
   * `refused`: records kept because a later batch had written them.
   */
  async writeBatch(changes: EncodedChanges, writtenAt: bigint): Promise<{ complete: boolean; refused: number }> {
    const script = this.newScript();
    const written = writtenAt.toString();
    conversationCommands(script, changes.conversations, changes.entries, written);
    for (const channel of changes.channels) channelCommand(script, channel, written);
    messageCommands(script, changes.messages);
    // Each window that let go of messages drops them by score, in the same scripts as the batch's additions.
    for (const trim of changes.trims) script.add('ZREMRANGEBYSCORE', redisKeys.messageWindow(trim.channelKey, trim.lane), ['-inf', `(${trim.keepFromSeq}`]);
    return this.runScripted(script);
  }

  /** Raises the published closed versions (and the registered partition count, when given). */
  async publishFrontier(closed: readonly ClosedPartition[], partitionCount?: number): Promise<void> {
    const pairs = closed.flatMap(({ partition, closedVersion }) => [frontierField(partition), closedVersion.toString()]);
    await (this.redis as unknown as FrontierCommands).csPublishFrontier(redisKeys.frontier, partitionCount === undefined ? '' : String(partitionCount), ...pairs);
  }

  /** W as Redis publishes it now, or null when it is not whole (flushed, not yet republished). */
  async readFrontier(): Promise<bigint | null> {
    return this.noteFrontier(frontierOf(await this.redis.hgetall(redisKeys.frontier).then(flatFields)));
  }

  /** W, or null when it is unknown or Redis is not complete: one {global} round trip, read before anything it bounds. */
  private async readWholeFrontier(): Promise<bigint | null> {
    const found = await this.redis.pipeline().hgetall(redisKeys.frontier).exists(redisKeys.complete).exec();
    if (!found || found.some(([error]) => error)) return null;
    const [[, fields], [, complete]] = found as [unknown, unknown][];
    const frontier = this.noteFrontier(frontierOf(flatFields(fields as Record<string, string>)));
    return complete === 1 ? frontier : null;
  }

  /**
   * The highest W this process has read from Redis (null before the first).
   * Redis's W only grows, so an answer from PostgreSQL clamped to at most this
   * is never above what another reader of Redis reports next.
   */
  get highestFrontierSeen(): bigint | null {
    return this.highestFrontier;
  }

  private noteFrontier(frontier: bigint | null): bigint | null {
    if (frontier !== null && (this.highestFrontier === null || frontier > this.highestFrontier)) this.highestFrontier = frontier;
    return frontier;
  }

  /**
   * Runs the commands as a few EVALs of up to SCRIPT_CHUNK commands each, sent
   * in one pipeline: far less client work than thousands of separate
   * commands, and no single script blocks Redis (and the API's reads) for
   * long. Readers need no atomicity here: every record of a batch still being
   * written is above W, so it is reported at W and sent again once whole.
   */
  private async runScripted(script: ScriptedCommands): Promise<{ complete: boolean; refused: number }> {
    const runs = script.finish();
    if (this.cluster) {
      // One EVAL per slot group and chunk, each declaring its keys; auto-pipelining sends them per node.
      // The global marker (what markIncomplete deletes) is read beside them: no run need fall in its slot.
      const [globalMarker, replies] = await Promise.all([
        this.redis.exists(redisKeys.complete),
        Promise.all(
          runs.map(({ slot, keys, packed }) =>
            this.redis.eval(APPLY_COMMANDS_SCRIPT, keys.length + 1, markerOf(slot), ...keys, packed) as Promise<ApplyReply>,
          ),
        ),
      ]);
      return {
        complete: globalMarker === 1 && replies.every(([complete]) => complete === 1),
        refused: replies.reduce((sum, [, refused]) => sum + refused, 0),
      };
    }
    const pipeline = this.redis.pipeline();
    for (const { packed } of runs) pipeline.eval(APPLY_COMMANDS_SCRIPT, 1, redisKeys.complete, packed);
    const results = await pipeline.exec();
    if (!results) throw new Error('Redis pipeline failed');
    let refused = 0;
    for (const [error, reply] of results) {
      if (error) throw error;
      refused += (reply as ApplyReply)[1];
    }
    return { complete: results.length === 0 || (results[0][1] as ApplyReply)[0] === 1, refused };
  }

  private newScript(): ScriptedCommands {
    return new ScriptedCommands(this.cluster ? slotOf : null);
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

  /**
   * Replaces everything with the records given (the PostgreSQL truth, read
   * while no batch is in flight), republishes the frontier, then marks Redis
   * complete. `writtenAt`: the highest version any committed batch handed out,
   * so a stalled batch's late write (below it) cannot replace a rebuilt record.
   */
  async rebuild(
    records: AsyncIterable<StoredRecords>,
    writtenAt: bigint,
    frontier: { closed: readonly ClosedPartition[]; partitionCount: number },
  ): Promise<void> {
    await this.redis.del(redisKeys.complete);
    await unlinkMatching(this.redis, redisKeys.pattern);
    const written = writtenAt.toString();
    for await (const page of records) {
      const script = this.newScript();
      for (const record of page.channels ?? []) channelCommand(script, { record, text: encodeChannel(record, writtenAt) }, written);
      const conversations = (page.conversations ?? []).map(({ record, entry }) => ({ record, text: encodeConversation(record, writtenAt), entry }));
      conversationCommands(script, conversations, [], written);
      messageCommands(script, (page.messages ?? []).map((record) => ({ record, text: encodeMessage(record) })));
      if (!script.isEmpty()) await this.runScripted(script);
    }
    if (this.cluster) await Promise.all(Array.from({ length: SLOTS }, (_, slot) => this.redis.set(redisKeys.slotComplete(slot), '1')));
    await this.publishFrontier(frontier.closed, frontier.partitionCount);
    await this.redis.set(redisKeys.complete, '1');
  }

  /**
   * The highest version anything in the user's answer carries (their records'
   * stamp and their large groups' versions), with W, without decoding the
   * records; null when Redis cannot tell. The reads asked for in one
   * event-loop turn share one script (W read once), so a busy API pays one
   * socket write, one read and one script run for many requests.
   */
  readStamp(uid: string): Promise<{ stamp: bigint; frontier: bigint } | null> {
    if (this.cluster) return this.readStampAcrossSlots(uid);
    return new Promise((resolve, reject) => {
      if (this.stampReads.push({ uid, resolve, reject }) === 1) setImmediate(() => this.sendStampReads());
    });
  }

  private sendStampReads(): void {
    const reads = this.stampReads;
    this.stampReads = [];
    for (let start = 0; start < reads.length; start += STAMPS_PER_SCRIPT) this.sendStampScript(reads.slice(start, start + STAMPS_PER_SCRIPT));
  }

  private sendStampScript(reads: StampRead[]): void {
    const keys = [redisKeys.frontier, redisKeys.complete, ...reads.flatMap(({ uid }) => userStampKeys(uid))];
    // A reply that cannot be read rejects the reads not yet answered, so no sync waits forever.
    (this.redis as unknown as StampCommands)
      .csReadStamps(keys.length, ...keys, STAMP_FIELD, redisKeyPrefix())
      .then((reply) => {
        if (reply === null) return reads.forEach(({ resolve }) => resolve(null));
        const frontier = this.noteFrontier(BigInt(reply[0]))!;
        reads.forEach(({ resolve }, i) => resolve({ stamp: higherOf(BigInt(reply[1 + 2 * i]), versionOfScore(reply[2 + 2 * i])), frontier }));
      })
      .catch((error: unknown) => reads.forEach(({ reject }) => reject(error)));
  }

  /** Cluster: READ_STAMPS_SCRIPT's reads split by slot — the global keys first, then the user's, then each large group's. */
  private async readStampAcrossSlots(uid: string): Promise<{ stamp: bigint; frontier: bigint } | null> {
    const frontier = await this.readWholeFrontier();
    if (frontier === null) return null;
    const hash = redisKeys.userConversations(uid);
    const user = await this.redis
      .pipeline()
      .hget(hash, STAMP_FIELD)
      .smembers(redisKeys.userLargeGroups(uid))
      .exists(userSlotMarker(uid))
      .zrevrange(redisKeys.userByVersion(uid), 0, 0, 'WITHSCORES')
      .exec();
    if (!user || user.some(([error]) => error)) return null;
    const [[, stampText], [, large], [, complete], [, top]] = user as [unknown, unknown][];
    if (complete !== 1) return null;
    const channels = await this.readChannels(large as string[]);
    if (channels === null) return null;
    const [, topScore] = top as string[];
    let stamp = higherOf(typeof stampText === 'string' ? BigInt(stampText) : 0n, topScore === undefined ? 0n : versionOfScore(topScore));
    for (const channel of channels.values()) if (channel.broadcastVersion > stamp) stamp = channel.broadcastVersion;
    return { stamp, frontier };
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
   * What `plan` names with W (read first), the index part and its records in
   * one script, then the channels; null when Redis cannot give it
   * (incomplete, W unknown, unreachable). A batch may be half-written
   * meanwhile: its records are all above W (its partition has not closed
   * them), so the answer reports them at W, and a client syncing from that
   * answer's highest version gets them again, whole, once W passes them.
   */
  async readSnapshot(uid: string, plan: SyncReadPlan): Promise<StoreSnapshot | null> {
    const index = await this.readIndex(uid, plan);
    if (index === null) return null;
    const { frontier, firstRank, keys } = index;
    const records = index.records ?? (await this.readAllRecords(uid));
    const conversations = records.map(decodeConversation);
    const channels = await this.readChannels(conversations.filter((c) => c.membership === 'member').map((c) => c.channelKey));
    if (channels === null) return null;
    return { conversations, channels, frontier, ranked: plan.read === 'ranked' ? { firstRank, keys } : undefined };
  }

  /** W, then (unless everything is read) the index part and the records it names, in the user's slot. `records` null: read them all. */
  private async readIndex(uid: string, plan: SyncReadPlan): Promise<IndexRead | null> {
    if (plan.read === 'everything') {
      const frontier = await this.readWholeFrontier();
      if (frontier === null) return null;
      if (this.cluster && (await this.redis.exists(userSlotMarker(uid))) !== 1) return null;
      return { frontier, firstRank: 0, keys: [], records: null };
    }
    // Cluster: W from its own slot first; the script then checks the user's slot marker (given twice: no W to read there).
    const clusterFrontier = this.cluster ? await this.readWholeFrontier() : null;
    if (this.cluster && clusterFrontier === null) return null;
    const [first, second] = this.cluster ? [userSlotMarker(uid), userSlotMarker(uid)] : [redisKeys.frontier, redisKeys.complete];
    const indexKey = plan.read === 'changed' ? redisKeys.userByVersion(uid) : redisKeys.userByTime(uid);
    const args = plan.read === 'changed' ? ['changed', versionScore(plan.afterVersion)] : ['ranked', String(plan.from), String(plan.count)];
    const reply = await (this.redis as unknown as IndexReader).csReadIndex(
      first, second, redisKeys.userLargeGroups(uid), indexKey, redisKeys.userConversations(uid), ...args,
    );
    if (reply === null) return null;
    const [frontier, , firstRank, keys, records] = reply;
    return { frontier: clusterFrontier ?? this.noteFrontier(BigInt(frontier))!, firstRank: Number(firstRank), keys, records };
  }

  /** Every record of the user, in one round trip. */
  private async readAllRecords(uid: string): Promise<string[]> {
    return (await this.redis.hvals(redisKeys.userConversations(uid))).filter(isRecord);
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

  /**
   * Each entry's recents, keyed as asked. Not bounded by W: a message of a
   * batch still being written is only read up to its conversation's
   * lastMsgSeq, and that conversation is reported at W and sent again whole.
   */
  async readRecents(requests: ReadonlyMap<string, RecentsRequest>): Promise<Map<string, MessageRecord[]>> {
    const keys = [...requests.keys()];
    const found = await this.readRecentsInOrder([...requests.values()]);
    return new Map(keys.map((key, i) => [key, found[i]]));
  }

  /**
   * Each request's windows (the channel's and the user's own) read newest
   * first and merged: usually one round trip; more only when messages the user
   * cannot see (removed members' later ones) fill a page.
   */
  private async readRecentsInOrder(requests: RecentsRequest[]): Promise<MessageRecord[][]> {
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
          if (!duplicate && picked.length < item.request.count && isVisibleTo(item.request.conversation, message)) {
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

/** APPLY_COMMANDS_SCRIPT's reply: {complete marker existed (1/0), guarded writes refused}. */
type ApplyReply = [number, number];

const SLOTS = 16_384;

/** The complete marker a script run in `slot` checks: the global one in the {global} slot, the slot's own elsewhere. */
function markerOf(slot: number): string {
  return slot === slotOf(redisKeys.complete) ? redisKeys.complete : redisKeys.slotComplete(slot);
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

/** ioredis's HGETALL reply (an object) as HGETALL's flat field/value list. */
function flatFields(reply: Record<string, string>): string[] {
  return Object.entries(reply ?? {}).flat();
}

interface FrontierCommands {
  csPublishFrontier(key: string, count: string, ...pairs: string[]): Promise<number>;
}

/** The connection with READ_INDEX_SCRIPT defined as a command. */
interface IndexReader {
  csReadIndex(...keysThenArgs: string[]): Promise<[string, string[], number, string[], string[]] | null>;
}

interface IndexRead {
  frontier: bigint;
  firstRank: number;
  keys: string[];
  /** The records of `keys` and of the user's large groups; null: all of the user's records are wanted. */
  records: string[] | null;
}

/** A stamp read waiting for its event-loop turn's script. */
interface StampRead {
  uid: string;
  resolve: (stamp: { stamp: bigint; frontier: bigint } | null) => void;
  reject: (error: unknown) => void;
}

/** READ_STAMPS_SCRIPT defined as a command: the key count, the keys, then its arguments. */
interface StampCommands {
  csReadStamps(keyCount: number, ...keysThenArgs: string[]): Promise<string[] | null>;
}

/** Bounds how long one stamp script holds Redis when many syncs arrive in one turn. */
const STAMPS_PER_SCRIPT = 200;

/** The complete marker of the slot the user's keys are in. */
function userSlotMarker(uid: string): string {
  return redisKeys.slotComplete(slotOf(redisKeys.userConversations(uid)));
}

/** A user's keys in READ_STAMPS_SCRIPT, STAMP_KEYS_PER_USER of them. */
function userStampKeys(uid: string): string[] {
  return [redisKeys.userConversations(uid), redisKeys.userLargeGroups(uid), redisKeys.userByVersion(uid)];
}

/** The version a by-version score stands for (score = version / 1024, an integer below 2^53 in any notation Redis prints). */
function versionOfScore(score: string): bigint {
  return BigInt(Number(score)) * 1024n;
}

const higherOf = (a: bigint, b: bigint) => (a > b ? a : b);

/** The user hash holds records (JSON arrays) and the stamp (a decimal). */
const isRecord = (value: string) => value.startsWith('[');

/**
 * Per conversation, its record and index entry in one ENTRY command (only
 * over an earlier batch's record), per moved entry an INDEX command; per
 * user, the stamp field raised to the highest version among their records
 * whose entry is a large group's — the other entries' versions are in
 * by-version, whose top READ_STAMPS_SCRIPT reads (batches of different
 * partitions commit in any order, so the field is raised, never replaced).
 */
function conversationCommands(
  script: ScriptedCommands,
  conversations: (Encoded<ConversationRecord> & { entry: IndexEntry })[],
  entries: MovedEntry[],
  writtenAt: string,
): void {
  const highest = new Map<string, bigint>();
  const raise = (uid: string, version: bigint) => {
    if (version > (highest.get(uid) ?? 0n)) highest.set(uid, version);
  };
  for (const { record, text, entry } of conversations) {
    const { uid, channelKey } = record;
    if (entry.kind === 'large') raise(uid, record.version);
    const userKeys = [...indexKeysOf(uid), redisKeys.userEntryStates(uid)];
    script.add('ENTRY', redisKeys.userConversations(uid), [...userKeys, channelKey, writtenAt, text, ...placementOf(entry, channelKey)], userKeys);
  }
  for (const { record, entry } of entries) {
    const { uid, channelKey } = record;
    // Leaving by-version (a group crossing SMALL_GROUP_MAX_MEMBERS) must not lower the stamp below the record's version.
    if (entry.kind === 'large') raise(uid, record.version);
    const indexKeys = indexKeysOf(uid);
    script.add('INDEX', redisKeys.userEntryStates(uid), [...indexKeys, channelKey, writtenAt, ...placementOf(entry, channelKey)], indexKeys);
  }
  for (const [uid, version] of highest) script.add('RAISE', redisKeys.userConversations(uid), [STAMP_FIELD, version.toString()]);
}

/** A user's indexes and large groups, in the order ENTRY and INDEX name them. */
function indexKeysOf(uid: string): string[] {
  return [redisKeys.userByVersion(uid), redisKeys.userByTime(uid), redisKeys.userLargeGroups(uid)];
}

/** Version score ('' = a large group), timestamp ('' = not listed), time member. */
function placementOf(entry: IndexEntry, channelKey: string): string[] {
  if (entry.kind === 'large') return ['', '', ''];
  return [versionScore(entry.version), entry.timestamp === null ? '' : String(entry.timestamp), timeMember(entry.version, channelKey)];
}

function channelCommand(script: ScriptedCommands, channel: Encoded<ChannelRecord>, writtenAt: string): void {
  script.add('SPUT', redisKeys.channel(channel.record.key), [writtenAt, channel.text]);
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
