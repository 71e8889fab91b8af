import { ChannelRecord, ConversationRecord, MessageRecord, ProjectionState, isVisibleTo } from '@cs/domain';
import Redis, { ChainableCommander } from 'ioredis';
import { RecentsRequest, SyncRead, SyncReadStore, UserSnapshot } from '../user-snapshot';
import {
  decodeChannel,
  decodeConversation,
  decodeMessage,
  encodeChannel,
  encodeConversation,
  encodeMessage,
  redisKeys,
} from './redis-layout';

/**
 * The hot read path: the projection records mirrored in Redis. Writes happen
 * while the batch still holds the version clock, so Redis sees batches in
 * version order; `watermark` tells readers up to which version it is whole.
 */
export class ProjectionCache implements SyncReadStore {
  constructor(private readonly redis: Redis) {}

  /** Writes a batch's changed records and raises the watermark. Returns false when Redis was not complete (needs a rebuild). */
  async writeBatch(state: ProjectionState, watermark: bigint): Promise<boolean> {
    const multi = this.redis.multi();
    multi.exists(redisKeys.complete);
    for (const key of state.changedConversations) writeConversation(multi, state.conversations.get(key)!);
    for (const key of state.changedChannels) writeChannel(multi, state.channels.get(key)!);
    for (const message of state.newMessages) writeMessage(multi, message);
    multi.set(redisKeys.watermark, watermark.toString());
    const results = await multi.exec();
    if (!results) throw new Error('Redis transaction aborted');
    for (const [error] of results) if (error) throw error;
    return results[0][1] === 1;
  }

  async isComplete(): Promise<boolean> {
    return (await this.redis.exists(redisKeys.complete)) === 1;
  }

  /** Replaces everything with the records given (the PostgreSQL truth), then marks Redis complete. */
  async rebuild(records: AsyncIterable<{ channels?: ChannelRecord[]; conversations?: ConversationRecord[]; messages?: MessageRecord[] }>, watermark: bigint): Promise<void> {
    await this.redis.del(redisKeys.complete);
    await this.deleteAll();
    for await (const page of records) {
      const multi = this.redis.multi();
      for (const channel of page.channels ?? []) writeChannel(multi, channel);
      for (const conversation of page.conversations ?? []) writeConversation(multi, conversation);
      for (const message of page.messages ?? []) multi.zadd(redisKeys.channelMessages(message.channelKey), message.seq, encodeMessage(message));
      await multi.exec();
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
    const conversations = (values as string[]).map(decodeConversation);
    const memberKeys = conversations.filter((c) => c.membership === 'member').map((c) => c.channelKey);
    const channels = new Map<string, ChannelRecord>();
    if (memberKeys.length > 0) {
      const found = await this.redis.pipeline(memberKeys.map((key) => ['get', redisKeys.channel(key)])).exec();
      if (!found) return null;
      for (const [error, text] of found) {
        if (error) return null;
        if (typeof text === 'string') {
          const channel = decodeChannel(text);
          channels.set(channel.key, channel);
        }
      }
    }
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
          if (picked.length < item.request.count && message.version <= watermark && isVisibleTo(item.request.conversation, message)) {
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

function writeConversation(multi: ChainableCommander, conversation: ConversationRecord): void {
  multi.hset(redisKeys.userConversations(conversation.uid), conversation.channelKey, encodeConversation(conversation));
}

function writeChannel(multi: ChainableCommander, channel: ChannelRecord): void {
  multi.set(redisKeys.channel(channel.key), encodeChannel(channel));
}

function writeMessage(multi: ChainableCommander, message: MessageRecord): void {
  // A replay after a failed commit may carry another version: keep one member per seq.
  const key = redisKeys.channelMessages(message.channelKey);
  multi.zremrangebyscore(key, message.seq, message.seq);
  multi.zadd(key, message.seq, encodeMessage(message));
}
