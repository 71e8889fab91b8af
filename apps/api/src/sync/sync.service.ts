import {
  MAX_MSG_COUNT,
  PlannedEntry,
  clampedEntries,
  SyncQuery,
  effectivePageSize,
  parseLastMsgSeqs,
  planRead,
  planSync,
  renderSyncAnswer,
  toInt64,
  versionFromClient,
} from '@cs/domain';
import { Logger } from '@cs/observability';
import { ProjectionCache } from '@cs/storage';
import { Counter } from 'prom-client';
import { Readable } from 'node:stream';
import { AnswerCache } from './answer-cache';
import { ProjectionReader, SnapshotRead } from './projection-reader';
import { SyncRequestDto } from './sync-request.dto';

/** Answers a sync from Redis when it can answer consistently, from PostgreSQL otherwise. */
export class SyncService {
  private readonly answers: AnswerCache;

  constructor(
    private readonly cache: ProjectionCache,
    private readonly reader: ProjectionReader,
    private readonly skippedLastMsgSeqs: Counter,
    /** Answer entries sent with their version clamped to W. */
    private readonly clampedVersions: Counter,
    private readonly log: Logger,
    answerCacheBytes: number,
  ) {
    this.answers = new AnswerCache(answerCacheBytes);
  }

  /**
   * Fast paths first, from the user's stamp in Redis (the highest version
   * anything in their answer carries): an incremental sync at or past it is
   * `[]` (the full read would select nothing above the client's version either).
   * When the stamp is at or below W, every record of the user is whole and
   * any later change comes above W, so raises the stamp: an answer rendered
   * under that stamp (nothing in it clamped) is served again as it is.
   * Every answer, streamed or whole, reports versions as min(version, W).
   */
  async sync(request: SyncRequestDto): Promise<Buffer | Readable> {
    const query = this.toQuery(request);
    const stamped = await this.cache.readStamp(query.uid).catch(() => null);
    if (stamped !== null && query.version > 0n && stamped.stamp <= query.version) return NOTHING_NEW;
    const stamp = stamped !== null && stamped.stamp <= stamped.frontier ? stamped.stamp : null;
    const cacheKey = stamp === null ? '' : answerKey(query);
    const cached = stamp === null ? undefined : this.answers.get(cacheKey, stamp);
    if (cached !== undefined) return cached;
    const read = await this.reader.read(query.uid, planRead(query));
    const planned = planSync(read.snapshot, query);
    const clamped = clampedEntries(planned, read.snapshot.frontier);
    if (clamped > 0) this.clampedVersions.inc(clamped);
    if (planned.length > STREAMED_ABOVE) return Readable.from(streamAnswer(read, planned));
    const body = await renderEntries(read, planned);
    if (stamp !== null && read.fromCache && clamped === 0) this.answers.set(cacheKey, stamp, body);
    return body;
  }

  /** Unreadable last_msg_seqs entries are skipped, as WuKongIM does: counted, and logged at debug. */
  private toQuery(request: SyncRequestDto): SyncQuery {
    const lastMsgSeqs = parseLastMsgSeqs(request.last_msg_seqs ?? '');
    if (lastMsgSeqs.skipped.length > 0) {
      this.skippedLastMsgSeqs.inc(lastMsgSeqs.skipped.length);
      this.log.debug('last_msg_seqs entries skipped', { uid: request.uid, skipped: lastMsgSeqs.skipped.slice(0, 10) });
    }
    return {
      uid: request.uid,
      version: request.version === undefined ? 0n : versionFromClient(toInt64(request.version)!),
      lastMsgSeqs: lastMsgSeqs.value,
      msgCount: Math.min(request.msg_count ?? 0, MAX_MSG_COUNT),
      onlyUnread: request.only_unread === 1,
      excludeChannelTypes: new Set(request.exclude_channel_types ?? []),
      page: request.page ?? 0,
      pageSize: effectivePageSize(request.page_size),
      includeDeleted: request.include_deleted === 1,
    };
  }
}

/** An answer of more entries is streamed, a chunk at a time (and not kept in the answer cache). */
const STREAMED_ABOVE = 1_000;
const STREAM_CHUNK = 500;

async function renderEntries(read: SnapshotRead, planned: readonly PlannedEntry[]): Promise<Buffer> {
  const recents = await read.recentsOf(planned);
  const entries = planned.map(({ entry }) => ({ entry, recents: recents.get(entry.view.conversation.channelKey) ?? [] }));
  return Buffer.from(renderSyncAnswer(entries, read.snapshot.frontier));
}

/** The answer's JSON array, its entries rendered (and their recents read) a chunk at a time, clamped to the read's W. */
export async function* streamAnswer(read: SnapshotRead, planned: readonly PlannedEntry[]): AsyncGenerator<Buffer> {
  if (planned.length === 0) yield NOTHING_NEW;
  for (let start = 0; start < planned.length; start += STREAM_CHUNK) {
    const rendered = (await renderEntries(read, planned.slice(start, start + STREAM_CHUNK))).subarray(1);
    // Each chunk renders as "[...]": the first keeps its "[", the others start with ",", the last keeps its "]".
    const last = start + STREAM_CHUNK >= planned.length;
    yield Buffer.concat([Buffer.from(start === 0 ? '[' : ','), last ? rendered : rendered.subarray(0, rendered.length - 1)]);
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
    query.includeDeleted,
  ]);
}
