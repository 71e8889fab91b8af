import {
  DEFAULT_PAGE_SIZE,
  MAX_MSG_COUNT,
  SelectedConversation,
  SyncQuery,
  parseLastMsgSeqs,
  renderSyncAnswer,
  selectConversations,
  toInt64,
  viewConversation,
} from '@cs/domain';
import { Logger } from '@cs/observability';
import { ProjectionCache, ProjectionRepository, RecentsRequest, SyncRead, UserSnapshot } from '@cs/storage';
import { BadRequest, ServiceUnavailable } from '../http/errors';
import { AnswerCache } from './answer-cache';
import { SyncRequestDto } from './sync-request.dto';

/** Answers a sync from Redis when it can answer consistently, from PostgreSQL otherwise. */
export class SyncService {
  private readonly answers: AnswerCache;

  constructor(
    private readonly cache: ProjectionCache,
    private readonly database: ProjectionRepository,
    private readonly log: Logger,
    answerCacheBytes = 64 * 1024 * 1024,
  ) {
    this.answers = new AnswerCache(answerCacheBytes);
  }

  /**
   * Fast paths first: when the user's stamp (the highest version anything in
   * their answer carries) is whole in Redis, an incremental sync at or past it
   * is `[]`, and an answer already rendered under that stamp is served again.
   */
  async sync(request: SyncRequestDto): Promise<Buffer> {
    const query = toQuery(request);
    const stamped = await this.cache.readStamp(query.uid).catch(() => null);
    const stamp = stamped !== null && stamped.stamp <= stamped.watermark ? stamped.stamp : null;
    if (stamp !== null && query.version > 0n && stamp <= query.version) return NOTHING_NEW;
    const cacheKey = stamp === null ? '' : answerKey(query);
    const cached = stamp === null ? undefined : this.answers.get(cacheKey, stamp);
    if (cached !== undefined) return cached;
    const { body, fromCache } = await this.render(query);
    if (stamp !== null && fromCache) this.answers.set(cacheKey, stamp, body);
    return body;
  }

  private async render(query: SyncQuery): Promise<{ body: Buffer; fromCache: boolean }> {
    let selected: SelectedConversation[] = [];
    const planRecents = (snapshot: UserSnapshot): RecentsRequest[] => {
      selected = selectConversations(
        snapshot.conversations.map((c) => viewConversation(c, snapshot.channels.get(c.channelKey))),
        query,
      );
      if (query.msgCount === 0) return [];
      return selected
        .filter((entry) => !entry.tombstone)
        .map((entry) => ({
          conversation: entry.view.conversation,
          afterSeq: entry.recentsAfterSeq,
          uptoSeq: entry.view.lastMsgSeq,
          count: query.msgCount,
        }));
    };
    const { read, fromCache } = await this.read(query.uid, planRecents);
    let next = 0;
    const body = renderSyncAnswer(
      selected.map((entry) => ({ entry, recents: entry.tombstone || query.msgCount === 0 ? [] : read.recents[next++] })),
    );
    return { body: Buffer.from(body), fromCache };
  }

  private async read(uid: string, planRecents: (snapshot: UserSnapshot) => RecentsRequest[]): Promise<{ read: SyncRead; fromCache: boolean }> {
    try {
      const fromCache = await this.cache.readSync(uid, planRecents);
      if (fromCache) return { read: fromCache, fromCache: true };
    } catch (error) {
      this.log.warn('redis read failed, answering from PostgreSQL', { error });
    }
    try {
      return { read: await this.database.readSync(uid, planRecents), fromCache: false };
    } catch (error) {
      this.log.error('postgres read failed', { error });
      throw new ServiceUnavailable('storage unavailable: PostgreSQL did not answer, retry later');
    }
  }
}

/** Answers leave as bytes, so the same answer is never encoded twice. */
const NOTHING_NEW = Buffer.from('[]');

/** The request, normalised: equal keys mean equal answers for the same user state. */
function answerKey(query: SyncQuery): string {
  return JSON.stringify([
    query.uid,
    query.version.toString(),
    [...query.lastMsgSeqs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    query.msgCount,
    query.onlyUnread,
    [...query.excludeChannelTypes].sort((a, b) => a - b),
    query.page,
    query.pageSize,
  ]);
}

function toQuery(request: SyncRequestDto): SyncQuery {
  const lastMsgSeqs = parseLastMsgSeqs(request.last_msg_seqs ?? '');
  if (!lastMsgSeqs.ok) throw new BadRequest(lastMsgSeqs.reason);
  return {
    uid: request.uid,
    version: request.version === undefined ? 0n : toInt64(request.version)!,
    lastMsgSeqs: lastMsgSeqs.value,
    msgCount: Math.min(request.msg_count ?? 0, MAX_MSG_COUNT),
    onlyUnread: request.only_unread === 1,
    excludeChannelTypes: new Set(request.exclude_channel_types ?? []),
    page: request.page ?? 0,
    pageSize: request.page_size ?? DEFAULT_PAGE_SIZE,
  };
}
