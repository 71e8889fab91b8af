import { MessageRecord, PlannedEntry, RecentsRequest, SyncReadPlan } from '@cs/domain';
import { Logger } from '@cs/observability';
import { ProjectionCache, ProjectionRepository, StoreSnapshot } from '@cs/storage';
import { ServiceUnavailable } from '../http/errors';

/** What one store read for a plan, and how to read the recents of its entries from the same store. */
export interface SnapshotRead {
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
      if (snapshot) return { snapshot, fromCache: true, recentsOf: (entries) => this.recents(entries, snapshot.bound, true) };
    } catch (error) {
      this.log.warn('redis read failed, answering from PostgreSQL', { error });
    }
    const snapshot = await this.unavailableUnless(() => this.database.readSnapshot(uid, plan));
    return { snapshot, fromCache: false, recentsOf: (entries) => this.recents(entries, snapshot.bound, false) };
  }

  private async recents(entries: readonly PlannedEntry[], bound: bigint, fromCache: boolean): Promise<Map<string, MessageRecord[]>> {
    const requests = new Map<string, RecentsRequest>();
    for (const { entry, recents } of entries) if (recents !== null) requests.set(entry.view.conversation.channelKey, recents);
    if (requests.size === 0) return new Map();
    if (fromCache) {
      try {
        return await this.cache.readRecents(requests, bound);
      } catch (error) {
        this.log.warn('redis read failed, answering from PostgreSQL', { error });
      }
    }
    return this.unavailableUnless(() => this.database.readRecents(requests, bound));
  }

  private async unavailableUnless<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      this.log.error('postgres read failed', { error });
      throw new ServiceUnavailable('storage unavailable: PostgreSQL did not answer, retry later');
    }
  }
}
