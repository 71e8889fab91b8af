import { MessageRecord, PlannedEntry, RecentsRequest, SyncReadPlan } from '@cs/domain';
import { Logger } from '@cs/observability';
import { ProjectionCache, ProjectionRepository, StoreSnapshot } from '@cs/storage';
import { ServiceUnavailable } from '../http/errors';

/** What one store read for a plan, and how to read the recents of its entries from the same store. */
export interface SnapshotRead {
  /** Its `frontier` is the W the answer is clamped to. */
  snapshot: StoreSnapshot;
  fromCache: boolean;
  /** The recents of these entries (those that ask for some), keyed by channel key. */
  recentsOf(entries: readonly PlannedEntry[]): Promise<Map<string, MessageRecord[]>>;
}

/** Reads one user from Redis when it can answer consistently, from PostgreSQL otherwise. */
export class ProjectionReader {
  constructor(
    private readonly cache: ProjectionCache,
    private readonly database: ProjectionRepository,
    private readonly log: Logger,
  ) {}

  async read(uid: string, plan: SyncReadPlan): Promise<SnapshotRead> {
    try {
      const snapshot = await this.cache.readSnapshot(uid, plan);
      if (snapshot) return { snapshot, fromCache: true, recentsOf: (entries) => this.recents(entries, true) };
    } catch (error) {
      this.log.warn('redis read failed, answering from PostgreSQL', { error });
    }
    const read = await this.unavailableUnless(() => this.database.readSnapshot(uid, plan));
    const snapshot = { ...read, frontier: this.boundedByRedis(read.frontier) };
    return { snapshot, fromCache: false, recentsOf: (entries) => this.recents(entries, false) };
  }

  private async recents(entries: readonly PlannedEntry[], fromCache: boolean): Promise<Map<string, MessageRecord[]>> {
    const requests = new Map<string, RecentsRequest>();
    for (const { entry, recents } of entries) if (recents !== null) requests.set(entry.view.conversation.channelKey, recents);
    if (requests.size === 0) return new Map();
    if (fromCache) {
      try {
        return await this.cache.readRecents(requests);
      } catch (error) {
        this.log.warn('redis read failed, answering from PostgreSQL', { error });
      }
    }
    return this.unavailableUnless(() => this.database.readRecents(requests));
  }

  private async unavailableUnless<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read();
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
