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
import { SyncRequestDto } from './sync-request.dto';

/** Answers a sync from Redis when it can answer consistently, from PostgreSQL otherwise. */
export class SyncService {
  constructor(
    private readonly cache: ProjectionCache,
    private readonly database: ProjectionRepository,
    private readonly log: Logger,
  ) {}

  async sync(request: SyncRequestDto): Promise<string> {
    const query = toQuery(request);
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
    const read = await this.read(query.uid, planRecents);
    let next = 0;
    return renderSyncAnswer(
      selected.map((entry) => ({ entry, recents: entry.tombstone || query.msgCount === 0 ? [] : read.recents[next++] })),
    );
  }

  private async read(uid: string, planRecents: (snapshot: UserSnapshot) => RecentsRequest[]): Promise<SyncRead> {
    try {
      const fromCache = await this.cache.readSync(uid, planRecents);
      if (fromCache) return fromCache;
    } catch (error) {
      this.log.warn('redis read failed, answering from PostgreSQL', { error });
    }
    try {
      return await this.database.readSync(uid, planRecents);
    } catch (error) {
      this.log.error('postgres read failed', { error });
      throw new ServiceUnavailable('storage unavailable: PostgreSQL did not answer, retry later');
    }
  }
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
