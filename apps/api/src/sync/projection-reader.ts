import { ConversationView, SelectedConversation, viewConversation } from '@cs/domain';
import { Logger } from '@cs/observability';
import { ProjectionCache, ProjectionRepository, RecentsRequest, SyncRead, UserSnapshot } from '@cs/storage';
import { ServiceUnavailable } from '../http/errors';

/** Reads one user from Redis when it can answer consistently, from PostgreSQL otherwise. */
export class ProjectionReader {
  constructor(
    private readonly cache: ProjectionCache,
    private readonly database: ProjectionRepository,
    private readonly log: Logger,
  ) {}

  async read(uid: string, planRecents: (snapshot: UserSnapshot) => RecentsRequest[]): Promise<{ read: SyncRead; fromCache: boolean }> {
    try {
      const fromCache = await this.cache.readSync(uid, planRecents);
      if (fromCache) return { read: fromCache, fromCache: true };
    } catch (error) {
      this.log.warn('redis read failed, answering from PostgreSQL', { error });
    }
    try {
      const read = await this.database.readSync(uid, planRecents);
      return { read: { ...read, snapshot: { ...read.snapshot, frontier: this.boundedByRedis(read.snapshot.frontier ?? null) } }, fromCache: false };
    } catch (error) {
      this.log.error('postgres read failed', { error });
      throw new ServiceUnavailable('storage unavailable: PostgreSQL did not answer, retry later');
    }
  }

  /**
   * PostgreSQL's W (committed) can be ahead of Redis's (published just after
   * the commit): clamped to the highest W this instance read from Redis, an
   * answer from PostgreSQL is never above what the next answer from Redis
   * reports, so a conversation's version does not go down between them.
   */
  private boundedByRedis(frontier: bigint | null): bigint | null {
    const redis = this.cache.highestFrontierSeen;
    return frontier === null || redis === null || redis > frontier ? frontier : redis;
  }
}

export function viewsOf(snapshot: UserSnapshot): ConversationView[] {
  return snapshot.conversations.map((c) => viewConversation(c, snapshot.channels.get(c.channelKey)));
}

/** The newest `count` visible messages of an entry, above its recentsAfterSeq. */
export function recentsOf(entry: SelectedConversation, count: number): RecentsRequest {
  return { conversation: entry.view.conversation, afterSeq: entry.recentsAfterSeq, uptoSeq: entry.view.lastMsgSeq, count };
}
