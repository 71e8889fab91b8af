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
      return { read: await this.database.readSync(uid, planRecents), fromCache: false };
    } catch (error) {
      this.log.error('postgres read failed', { error });
      throw new ServiceUnavailable('storage unavailable: PostgreSQL did not answer, retry later');
    }
  }
}

export function viewsOf(snapshot: UserSnapshot): ConversationView[] {
  return snapshot.conversations.map((c) => viewConversation(c, snapshot.channels.get(c.channelKey)));
}

/** The newest `count` visible messages of an entry, above its recentsAfterSeq. */
export function recentsOf(entry: SelectedConversation, count: number): RecentsRequest {
  return { conversation: entry.view.conversation, afterSeq: entry.recentsAfterSeq, uptoSeq: entry.view.lastMsgSeq, count };
}
