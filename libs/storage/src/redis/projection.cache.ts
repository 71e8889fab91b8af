import { ChannelRecord, ConversationRecord, MessageRecord, isVisibleTo } from '@cs/domain';
import Redis from 'ioredis';
import { RecentsRequest, SyncRead, SyncReadStore, UserSnapshot } from '../user-snapshot';
import {
  EncodedChanges,
  decodeChannel,
  decodeConversation,
  decodeMessage,
  encodeChannel,
  encodeConversation,
  encodeMessage,
} from '../record-codec';
import { APPLY_COMMANDS_SCRIPT, STAMP_FIELD, redisKeys } from './redis-layout';

/**
 * The hot read path: the projection records mirrored in Redis. Writes happen
 * while the batch still holds the version clock, so Redis sees batches in
 * version order; `watermark` tells readers up to which version it is whole.
 */
export class ProjectionCache implements SyncReadStore {
  constructor(private readonly redis: Redis) {}

  /** Writes a batch's changed records and raises the watermark. Returns false when Redis was not complete (needs a rebuild). */
  /** `previousVersion`: the clock before the batch; records above it carry this batch's versions. */
  async writeBatch(changes: EncodedChanges, previousVersion: bigint, watermark: bigint): Promise<boolean> {
    const commands = [
      ...conversationCommands(changes.conversations, previousVersion),
      ...changes.channels.map(channelCommand),
      ...messageCommands(changes.messages),
      ['SET', redisKeys.watermark, watermark.toString()],
    ];
    return (await this.runScripted(commands)) === 1;
  }

  /**
   * Runs the commands as a few EVALs of up to SCRIPT_CHUNK commands each, sent
   * in one pipeline: far less client work than thousands of separate
   * commands, and no single script blocks Redis (and the API's reads) for
   * long. Readers need no atomicity here: the watermark, set by the last
   * command, tells them what is whole. Returns whether Redis was complete
   * before the first command.
   */
  private async runScripted(commands: WriteCommand[]): Promise<number> {
    const pipeline = this.redis.pipeline();
    for (let i = 0; i < commands.length; i += SCRIPT_CHUNK) {
      pipeline.eval(APPLY_COMMANDS_SCRIPT, 1, redisKeys.complete, JSON.stringify(commands.slice(i, i + SCRIPT_CHUNK)));
    }
    const results = await pipeline.exec();
    if (!results) throw new Error('Redis pipeline failed');
    for (const [error] of results) if (error) throw error;
    return results[0][1] as number;
  }

  async isComplete(): Promise<boolean> {
    return (await this.redis.exists(redisKeys.complete)) === 1;
  }

  /** Replaces everything with the records given (the PostgreSQL truth), then marks Redis complete. */
  async rebuild(records: AsyncIterable<{ channels?: ChannelRecord[]; conversations?: ConversationRecord[]; messages?: MessageRecord[] }>, watermark: bigint): Promise<void> {
    await this.redis.del(redisKeys.complete);
    await this.deleteAll();
    for await (const page of records) {
      await this.runScripted([
        ...(page.channels ?? []).map((record) => channelCommand({ record, text: encodeChannel(record) })),
        ...conversationCommands((page.conversations ?? []).map((record) => ({ record, text: encodeConversation(record) })), null),
        ...messageCommands((page.messages ?? []).map((record) => ({ record, text: encodeMessage(record) }))),
      ]);
    }
    await this.redis.multi().set(redisKeys.watermark, watermark.toString()).set(redisKeys.complete, '1').exec();
  }

  private async deleteAll(): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', redisKeys.pattern, 'COUNT', 1000);
      if (keys.length > 0) await this.redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  }

  /**
   * The highest version anything in the user's answer carries (their records'
   * stamp and their member channels' versions), with the watermark: in one or
   * two round trips, without decoding the records. null when Redis cannot tell.
   */
  async readStamp(uid: string): Promise<{ stamp: bigint; watermark: bigint } | null> {
    const first = await this.redis
      .pipeline()
      .get(redisKeys.watermark)
      .exists(redisKeys.complete)
      .hget(redisKeys.userConversations(uid), STAMP_FIELD)
      .smembers(redisKeys.userGroups(uid))
      .exec();
    if (!first || first.some(([error]) => error)) return null;
    const [[, watermarkText], [, complete], [, stampText], [, groups]] = first as [unknown, unknown][];
    if (complete !== 1 || typeof watermarkText !== 'string') return null;
    let stamp = typeof stampText === 'string' ? BigInt(stampText) : 0n;
    const channels = await this.readChannels(groups as string[]);
    if (channels === null) return null;
    for (const { broadcastVersion } of channels.values()) if (broadcastVersion > stamp) stamp = broadcastVersion;
    return { stamp, watermark: BigInt(watermarkText) };
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

  /**
   * A consistent read of one user, or null when Redis cannot give one
   * (incomplete, unreachable, or a batch landed mid-read three times in a row).
   */
  async readSync(uid: string, planRecents: (snapshot: UserSnapshot) => RecentsRequest[]): Promise<SyncRead | null> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const snapshot = await this.tryReadUser(uid);
      if (snapshot === null) return null;
      if (snapshot !== 'retry') return { snapshot, recents: await this.readRecents(planRecents(snapshot), snapshot.watermark!) };
    }
    return null;
  }

  private async tryReadUser(uid: string): Promise<UserSnapshot | null | 'retry'> {
    const first = await this.redis
      .pipeline()
      .get(redisKeys.watermark)
      .exists(redisKeys.complete)
      .hvals(redisKeys.userConversations(uid))
      .exec();
    if (!first || first.some(([error]) => error)) return null;
    const [[, watermarkText], [, complete], [, values]] = first as [unknown, unknown][];
    if (complete !== 1 || typeof watermarkText !== 'string') return null;
    const watermark = BigInt(watermarkText);
    const conversations = (values as string[]).filter(isRecord).map(decodeConversation);
    const channels = await this.readChannels(conversations.filter((c) => c.membership === 'member').map((c) => c.channelKey));
    if (channels === null) return null;
    // A record newer than the watermark was written after we read it: its batch may be half-seen.
    const tooNew =
      conversations.some((c) => c.version > watermark) || [...channels.values()].some((c) => c.broadcastVersion > watermark);
    return tooNew ? 'retry' : { conversations, channels, watermark };
  }

  private async readRecents(requests: RecentsRequest[], watermark: bigint): Promise<MessageRecord[][]> {
    const result: MessageRecord[][] = requests.map(() => []);
    let pending = requests.map((request, index) => ({ request, index, fetch: request.count, upto: request.uptoSeq }));
    // Usually one round trip; more only when invisible messages (others' explicit deliveries) fill a page.
    while (pending.length > 0) {
      const replies = await this.redis
        .pipeline(
          pending.map(({ request, fetch, upto }) => [
            'zrevrangebyscore',
            redisKeys.channelMessages(request.conversation.channelKey),
            String(upto),
            `(${request.afterSeq}`,
            'LIMIT',
            '0',
            String(fetch),
          ]),
        )
        .exec();
      if (!replies) throw new Error('Redis pipeline failed');
      const next: typeof pending = [];
      pending.forEach((item, i) => {
        const [error, members] = replies[i];
        if (error) throw error;
        const messages = (members as string[]).map(decodeMessage);
        const picked = result[item.index];
        for (const message of messages) {
          const duplicate = picked.length > 0 && picked[picked.length - 1].seq === message.seq;
          if (!duplicate && picked.length < item.request.count && message.version <= watermark && isVisibleTo(item.request.conversation, message)) {
            picked.push(message);
          }
        }
        if (picked.length < item.request.count && messages.length === item.fetch) {
          next.push({ ...item, fetch: item.fetch * 4, upto: messages[messages.length - 1].seq - 1 });
        }
      });
      pending = next;
    }
    return result;
  }
}

/** A Redis command for APPLY_COMMANDS_SCRIPT; 'RAISE' sets a hash field to a larger decimal only. */
type WriteCommand = (string | number)[];

/** Commands per EVAL: each runs for a few milliseconds at most. */
const SCRIPT_CHUNK = 1_000;

/** Keeps every command under Lua's unpack limit. */
const MAX_PAIRS_PER_COMMAND = 500;

type Encoded<T> = { record: T; text: string };

/** The user hash holds records (JSON arrays) and the stamp (a decimal). */
const isRecord = (value: string) => value.startsWith('[');

/**
 * Per user: HSET of the records and the stamp, and the member-of set kept.
 * Records newer than `previousVersion` carry this batch's versions, which are
 * above every stamp written before, so their highest simply replaces the
 * stamp. Without it (a rebuild, page by page) the stamp is raised instead.
 */
function conversationCommands(conversations: Encoded<ConversationRecord>[], previousVersion: bigint | null): WriteCommand[] {
  const commands: WriteCommand[] = [];
  for (const [uid, encoded] of groupBy(conversations, (c) => c.record.uid)) {
    const records = encoded.map((c) => c.record);
    const hash = redisKeys.userConversations(uid);
    const highest = records.reduce((max, c) => (c.version > max ? c.version : max), 0n);
    const fields = encoded.flatMap((c) => [c.record.channelKey, c.text]);
    if (previousVersion !== null && highest > previousVersion) fields.push(STAMP_FIELD, highest.toString());
    for (const chunk of chunks(fields, 2)) commands.push(['HSET', hash, ...chunk]);
    if (previousVersion === null) commands.push(['RAISE', hash, STAMP_FIELD, highest.toString()]);
    const joined = records.filter((c) => c.membership === 'member').map((c) => c.channelKey);
    const left = records.filter((c) => c.membership === 'left').map((c) => c.channelKey);
    for (const chunk of chunks(joined)) commands.push(['SADD', redisKeys.userGroups(uid), ...chunk]);
    for (const chunk of chunks(left)) commands.push(['SREM', redisKeys.userGroups(uid), ...chunk]);
  }
  return commands;
}

function channelCommand(channel: Encoded<ChannelRecord>): WriteCommand {
  return ['SET', redisKeys.channel(channel.record.key), channel.text];
}

/** One ZADD per channel (and per 500 messages). */
function messageCommands(messages: Encoded<MessageRecord>[]): WriteCommand[] {
  const commands: WriteCommand[] = [];
  for (const [channelKey, encoded] of groupBy(messages, (m) => m.record.channelKey)) {
    const key = redisKeys.channelMessages(channelKey);
    // Scores as strings: Lua would print a number above 14 digits in exponent form.
    const members = encoded.flatMap((m) => [String(m.record.seq), m.text]);
    for (const chunk of chunks(members, 2)) commands.push(['ZADD', key, ...chunk]);
  }
  return commands;
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
