import {
  ChannelRecord,
  ConversationRecord,
  IndexEntry,
  MessageHead,
  MessageRecord,
  MessageWindow,
  ProjectionState,
  RecordsNeeded,
  RecentsRequest,
  SyncReadPlan,
  SyncSnapshot,
  conversationKeyOf,
  emptyProjectionState,
  messageSlot,
  windowKeyOf,
} from '@cs/domain';
import { Pool, PoolClient } from 'pg';
import { CHANNEL_FIELDS, CONVERSATION_FIELDS, EncodedChanges, MESSAGE_FIELDS, jsonArrayOf } from '../record-codec';
import { StoredField, StoredType, decodeFields } from '../record-fields';
import { inTransaction } from './database';
import { StoreSnapshot, SyncReadStore } from '../user-snapshot';

type Queryable = Pool | PoolClient;

/**
 * What a load made before the version clock was taken must still match under
 * it: the partition's checkpoint (no other instance applied the partition
 * meanwhile) and the cross-partition epoch (no write reached into other partitions' channels).
 */
export interface LoadGuard {
  nextOffset: string | null;
  epoch: string;
}

/** A consumer group's position in one partition. */
export interface PartitionPosition {
  groupId: string;
  topic: string;
  partition: number;
}

/** SQL for the projection records. Holds no rules: those live in @cs/domain. */
export class ProjectionRepository implements SyncReadStore {
  constructor(private readonly pool: Pool) {}

  /**
   * Locks the single version clock row until the transaction ends, and reads
   * the partition's checkpoint and the cross-partition epoch. Every batch takes
   * this lock, so batches from all consumer instances apply one after another
   * and versions are handed out in the order their changes become visible.
   */
  async lockClockAndReadCheckpoint(client: PoolClient, position: PartitionPosition): Promise<{ lastVersion: bigint } & LoadGuard> {
    const clock = await client.query<{ version: string; epoch: string }>(
      'SELECT version::text AS version, cross_partition_epoch::text AS epoch FROM version_clock WHERE id = 1 FOR UPDATE',
    );
    // A statement of its own, after the lock: a statement that waited for the lock still reads
    // other tables as of its start, and would miss a checkpoint committed by the batch it waited for.
    const checkpoint = await client.query<{ next_offset: string }>(
      'SELECT next_offset::text AS next_offset FROM consumer_checkpoints WHERE group_id = $1 AND topic = $2 AND partition = $3',
      [position.groupId, position.topic, position.partition],
    );
    return { lastVersion: BigInt(clock.rows[0].version), epoch: clock.rows[0].epoch, nextOffset: checkpoint.rows[0]?.next_offset ?? null };
  }

  /** Locks the version clock alone (for work that is not a partition's batch). */
  async lockVersionClock(client: PoolClient): Promise<bigint> {
    const { rows } = await client.query<{ version: string }>('SELECT version::text AS version FROM version_clock WHERE id = 1 FOR UPDATE');
    return BigInt(rows[0].version);
  }

  /**
   * The records a batch needs, in one round trip (parameters and rows travel
   * as JSON), with the partition's checkpoint and the cross-partition epoch
   * seen by the same snapshot: the batch may load before it takes the clock.
   */
  async loadState(
    db: Queryable,
    needed: RecordsNeeded,
    position: PartitionPosition,
    settings: { recentMessagesKept?: number; smallGroupMaxMembers?: number } = {},
  ): Promise<{ state: ProjectionState } & LoadGuard> {
    const state = emptyProjectionState(settings.recentMessagesKept, settings.smallGroupMaxMembers);
    const { rows } = await db.query<{
      channels: Row[];
      conversations: Row[];
      messages: [string, number][];
      windows: Row[];
      member_channels: string[];
      members: Row[];
      epoch: string;
      next_offset: string | null;
    }>(
      `WITH wanted_conversations AS (SELECT DISTINCT * FROM json_to_recordset($2::json) AS w(uid text, channel_key text)),
            wanted_messages AS (SELECT DISTINCT * FROM json_to_recordset($3::json) AS w(channel_key text, seq bigint)),
            wanted_windows AS (SELECT DISTINCT * FROM json_to_recordset($7::json) AS w(channel_key text, lane text)),
            wanted_members AS (SELECT channel_key, sum(slack) AS slack FROM json_to_recordset($8::json) AS w(channel_key text, slack int) GROUP BY channel_key),
            member_channels AS (
              SELECT w.channel_key FROM wanted_members w LEFT JOIN channels ch USING (channel_key)
               WHERE coalesce(ch.member_count, 0) <= $9::int + w.slack)
       SELECT
         (SELECT coalesce(json_agg(channel_key), '[]') FROM member_channels) AS member_channels,
         (SELECT coalesce(json_agg(c), '[]') FROM (
            SELECT ${CONVERSATION_COLUMNS_AS_JSON} FROM conversations
             WHERE membership = 'member' AND channel_key IN (SELECT channel_key FROM member_channels)) c) AS members,
         (SELECT coalesce(json_agg(c), '[]') FROM (
            SELECT ${CHANNEL_COLUMNS_AS_JSON} FROM channels
             WHERE channel_key IN (SELECT json_array_elements_text($1::json))) c) AS channels,
         (SELECT coalesce(json_agg(c), '[]') FROM (
            SELECT ${CONVERSATION_COLUMNS_AS_JSON} FROM conversations JOIN wanted_conversations USING (uid, channel_key)) c) AS conversations,
         (SELECT coalesce(json_agg(json_build_array(w.channel_key, w.seq)), '[]')
            FROM wanted_messages w WHERE EXISTS (SELECT 1 FROM messages m WHERE m.channel_key = w.channel_key AND m.seq = w.seq)) AS messages,
         (SELECT coalesce(json_agg(m), '[]') FROM (
            SELECT channel_key, lane, kept_seqs, dropped_up_to FROM message_windows JOIN wanted_windows USING (channel_key, lane)) m) AS windows,
         (SELECT cross_partition_epoch::text FROM version_clock WHERE id = 1) AS epoch,
         (SELECT next_offset::text FROM consumer_checkpoints WHERE group_id = $4 AND topic = $5 AND partition = $6) AS next_offset`,
      [
        JSON.stringify([...new Set(needed.channelKeys)]),
        JSON.stringify(needed.conversations.map((c) => ({ uid: c.uid, channel_key: c.channelKey }))),
        JSON.stringify(needed.messages.map((m) => ({ channel_key: m.channelKey, seq: m.seq }))),
        position.groupId,
        position.topic,
        position.partition,
        JSON.stringify(needed.windows.map((w) => ({ channel_key: w.channelKey, lane: laneColumn(w.lane) }))),
        JSON.stringify(needed.members.map((m) => ({ channel_key: m.channelKey, slack: m.slack }))),
        state.smallGroupMaxMembers,
      ],
    );
    const [found] = rows;
    for (const channelKey of found.member_channels) state.channelMembers.set(channelKey, new Set());
    for (const row of found.members) {
      const record = conversationFromRow(row);
      state.conversations.set(conversationKeyOf(record.uid, record.channelKey), record);
      state.channelMembers.get(record.channelKey)!.add(record.uid);
    }
    for (const row of found.channels) state.channels.set(row.channel_key, channelFromRow(row));
    for (const row of found.conversations) {
      const record = conversationFromRow(row);
      state.conversations.set(conversationKeyOf(record.uid, record.channelKey), record);
    }
    for (const [channelKey, seq] of found.messages) state.storedMessages.add(messageSlot(channelKey, Number(seq)));
    for (const row of found.windows) {
      const window = windowFromRow(row);
      state.windows.set(windowKeyOf(window.channelKey, window.lane), window);
    }
    return { state, nextOffset: found.next_offset, epoch: found.epoch };
  }

  /**
   * Writes, in one statement, the changed records (as encoded for Redis too:
   * JSON arrays, int64 as decimal strings), the partition's new checkpoint and
   * the version clock; `crossesPartitions` raises the cross-partition epoch.
   * Trimming is part of it: each window that let go of messages deletes its
   * copies below its lowest kept seq (the new copies are all above it), one
   * primary-key range per window.
   * (PostgreSQL runs every data-modifying WITH to completion, read or not.)
   */
  async saveBatch(
    client: PoolClient,
    changes: EncodedChanges,
    checkpoint: PartitionPosition & { nextOffset: string },
    version: bigint,
    crossesPartitions: boolean,
  ): Promise<void> {
    await client.query(
      `WITH
         saved_channels AS (
           INSERT INTO channels (${CHANNEL_COLUMNS})
           SELECT ${valuesOf(CHANNEL_FIELDS, 'r')}
             FROM jsonb_array_elements($1::jsonb) AS r
           ON CONFLICT (channel_key) DO UPDATE SET ${updatesOf(CHANNEL_FIELDS)}),
         saved_conversations AS (
           INSERT INTO conversations (${CONVERSATION_COLUMNS}, ${INDEX_COLUMNS})
           SELECT ${valuesOf(CONVERSATION_FIELDS, 'r')}, (x->>0)::bigint, (x->>1)::bigint, (x->>2)::boolean
             FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS records(r, n)
             JOIN jsonb_array_elements($12::jsonb) WITH ORDINALITY AS entries(x, n) USING (n)
           ON CONFLICT (uid, channel_key) DO UPDATE SET ${updatesOf(CONVERSATION_FIELDS)},
             index_version = EXCLUDED.index_version, index_ts = EXCLUDED.index_ts, large_member = EXCLUDED.large_member),
         saved_messages AS (
           INSERT INTO messages (${MESSAGE_COLUMNS})
           SELECT ${valuesOf(MESSAGE_FIELDS, 'r')}
             FROM jsonb_array_elements($3::jsonb) AS r
           ON CONFLICT (channel_key, lane, seq) DO NOTHING),
         saved_windows AS (
           INSERT INTO message_windows (channel_key, lane, kept_seqs, dropped_up_to)
           SELECT r->>0, coalesce(r->>1, ''), r->2, (r->>3)::bigint
             FROM jsonb_array_elements($10::jsonb) AS r
           ON CONFLICT (channel_key, lane) DO UPDATE SET kept_seqs = EXCLUDED.kept_seqs, dropped_up_to = EXCLUDED.dropped_up_to),
         trimmed_messages AS (
           DELETE FROM messages m USING jsonb_to_recordset($11::jsonb) AS t(channel_key text, lane text, keep_from bigint)
            WHERE m.channel_key = t.channel_key AND m.lane = t.lane AND m.seq < t.keep_from),
         saved_checkpoint AS (
           INSERT INTO consumer_checkpoints (group_id, topic, partition, next_offset) VALUES ($4, $5, $6, $7)
           ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset)
       UPDATE version_clock SET version = $8, cross_partition_epoch = cross_partition_epoch + CASE WHEN $9 THEN 1 ELSE 0 END
        WHERE id = 1`,
      [
        jsonArrayOf(changes.channels),
        jsonArrayOf(changes.conversations),
        jsonArrayOf(changes.messages),
        checkpoint.groupId,
        checkpoint.topic,
        checkpoint.partition,
        checkpoint.nextOffset,
        version.toString(),
        crossesPartitions,
        jsonArrayOf(changes.windows),
        JSON.stringify(changes.trims.map((t) => ({ channel_key: t.channelKey, lane: laneColumn(t.lane), keep_from: t.keepFromSeq }))),
        JSON.stringify(changes.conversations.map(({ entry }) => indexColumnsOf(entry))),
      ],
    );
  }

  /**
   * What `plan` names, in one repeatable-read transaction, with the version
   * clock as the snapshot's bound: recents read later take no message applied
   * after it. See SyncReadPlan for what each read costs; with PostgreSQL a
   * ranked page skips the ranks before it in the index (O(rank), not a log).
   */
  async readSnapshot(uid: string, plan: SyncReadPlan): Promise<StoreSnapshot> {
    return inTransaction(
      this.pool,
      async (client) => {
        const clock = await client.query<{ version: string }>('SELECT version::text AS version FROM version_clock WHERE id = 1');
        const { conversations, ranked } = await this.readPlanned(client, uid, plan);
        const channels = await this.readChannels(client, conversations);
        return { conversations, channels, ranked, bound: BigInt(clock.rows[0].version) };
      },
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
    );
  }

  private async readPlanned(db: Queryable, uid: string, plan: SyncReadPlan): Promise<{ conversations: ConversationRecord[]; ranked?: SyncSnapshot['ranked'] }> {
    const large = `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE uid = $1 AND large_member`;
    switch (plan.read) {
      case 'everything': {
        const { rows } = await db.query(`SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE uid = $1`, [uid]);
        return { conversations: rows.map(conversationFromRow) };
      }
      case 'changed': {
        const { rows } = await db.query(
          `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE uid = $1 AND index_version > $2::bigint UNION ALL ${large}`,
          [uid, plan.afterVersion.toString()],
        );
        return { conversations: rows.map(conversationFromRow) };
      }
      case 'ranked': {
        const largeRows = (await db.query(large, [uid])).rows.map(conversationFromRow);
        const firstRank = Math.max(0, plan.from - largeRows.length);
        const { rows } = await db.query(
          `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE uid = $1 AND index_ts IS NOT NULL
            ORDER BY index_ts DESC, index_version DESC OFFSET $2 LIMIT $3`,
          [uid, firstRank, plan.from + plan.count - firstRank],
        );
        const rankedRows = rows.map(conversationFromRow);
        return { conversations: [...rankedRows, ...largeRows], ranked: { firstRank, keys: rankedRows.map((c) => c.channelKey) } };
      }
      default: {
        const exhaustive: never = plan;
        return exhaustive;
      }
    }
  }

  private async readChannels(db: Queryable, conversations: ConversationRecord[]): Promise<Map<string, ChannelRecord>> {
    const memberChannels = conversations.filter((c) => c.membership === 'member').map((c) => c.channelKey);
    const channels = new Map<string, ChannelRecord>();
    if (memberChannels.length > 0) {
      const found = await db.query(`SELECT ${CHANNEL_COLUMNS} FROM channels WHERE channel_key = ANY($1::text[])`, [memberChannels]);
      for (const row of found.rows) channels.set(row.channel_key, channelFromRow(row));
    }
    return channels;
  }

  /** Each entry's recents (keyed as asked), no message applied after `bound`. */
  async readRecents(requests: ReadonlyMap<string, RecentsRequest>, bound: bigint | null): Promise<Map<string, MessageRecord[]>> {
    const result = new Map<string, MessageRecord[]>();
    for (const key of requests.keys()) result.set(key, []);
    const keyed = [...requests].map(([key, request], i) => ({ key, request, i }));
    // One statement per direction, so each scans the primary key in its own order.
    for (const order of ['DESC', 'ASC'] as const) {
      const wanted = keyed.filter(({ request }) => (request.oldestFirst === true) === (order === 'ASC'));
      if (wanted.length > 0) {
        for (const { i, message } of await this.readRecentsInOrder(wanted, order, bound)) result.get(keyed[i].key)!.push(message);
      }
    }
    return result;
  }

  /**
   * Visibility is filtered in SQL, so LIMIT is exact (restates isVisibleTo in
   * @cs/domain: test/visibility-parity.e2e.spec.ts holds them together); the
   * windows read are the channel's and the user's own (lanesReadBy: a person
   * channel has only the channel's).
   */
  private async readRecentsInOrder(
    wanted: { request: RecentsRequest; i: number }[],
    order: 'ASC' | 'DESC',
    bound: bigint | null,
  ): Promise<{ i: number; message: MessageRecord }[]> {
    const { rows } = await this.pool.query(
      `SELECT wanted.i, ${MESSAGE_COLUMNS_OF_M}
         FROM unnest($1::int[], $2::text[], $3::bigint[], $4::bigint[], $5::int[], $6::text[], $7::text[], $8::bigint[])
              AS wanted(i, channel_key, after_seq, upto_seq, lim, uid, membership, left_version)
         CROSS JOIN LATERAL (
           SELECT * FROM messages m
            WHERE m.channel_key = wanted.channel_key AND m.lane IN ('', wanted.uid)
              AND m.seq > wanted.after_seq AND m.seq <= wanted.upto_seq AND ($9::bigint IS NULL OR m.version <= $9::bigint)
              AND CASE WHEN m.recipients IS NOT NULL THEN m.recipients ? wanted.uid
                       WHEN wanted.membership = 'member' THEN true
                       WHEN wanted.membership = 'left' THEN m.version < wanted.left_version
                       ELSE false END
            ORDER BY m.seq ${order} LIMIT wanted.lim) m
        ORDER BY wanted.i, m.seq ${order}`,
      [
        wanted.map(({ i }) => i),
        wanted.map(({ request }) => request.conversation.channelKey),
        wanted.map(({ request }) => request.afterSeq),
        wanted.map(({ request }) => request.uptoSeq),
        wanted.map(({ request }) => request.count),
        wanted.map(({ request }) => request.conversation.uid),
        wanted.map(({ request }) => request.conversation.membership),
        wanted.map(({ request }) => request.conversation.leftVersion?.toString() ?? null),
        bound?.toString() ?? null,
      ],
    );
    return rows.map((row) => ({ i: row.i, message: messageFromRow(row) }));
  }

  /** Pages through every record, for rebuilding the Redis projection. */
  async *allRecords(client: PoolClient, pageSize = 5_000): AsyncGenerator<StoredRecords> {
    let after = '';
    for (;;) {
      const { rows } = await client.query(`SELECT ${CHANNEL_COLUMNS} FROM channels WHERE channel_key > $1 ORDER BY channel_key LIMIT $2`, [after, pageSize]);
      if (rows.length === 0) break;
      yield { channels: rows.map(channelFromRow) };
      after = rows[rows.length - 1].channel_key;
    }
    let afterUid = '';
    let afterKey = '';
    for (;;) {
      const { rows } = await client.query(
        `SELECT ${CONVERSATION_COLUMNS}, ${INDEX_COLUMNS} FROM conversations WHERE (uid, channel_key) > ($1, $2) ORDER BY uid, channel_key LIMIT $3`,
        [afterUid, afterKey, pageSize],
      );
      if (rows.length === 0) break;
      yield { conversations: rows.map((row) => ({ record: conversationFromRow(row), entry: indexEntryFromRow(row) })) };
      afterUid = rows[rows.length - 1].uid;
      afterKey = rows[rows.length - 1].channel_key;
    }
    let afterSeq = '0';
    let afterLane = '';
    afterKey = '';
    for (;;) {
      const { rows } = await client.query(
        `SELECT ${MESSAGE_COLUMNS_OF_M} FROM messages m WHERE (channel_key, lane, seq) > ($1, $2, $3::bigint) ORDER BY channel_key, lane, seq LIMIT $4`,
        [afterKey, afterLane, afterSeq, pageSize],
      );
      if (rows.length === 0) break;
      yield { messages: rows.map(messageFromRow) };
      const last = rows[rows.length - 1];
      afterKey = last.channel_key;
      afterLane = last.lane;
      afterSeq = last.seq;
    }
  }
}

/** Every record PostgreSQL holds, page by page (conversations with their index entries), for rebuilding Redis. */
export interface StoredRecords {
  channels?: ChannelRecord[];
  conversations?: { record: ConversationRecord; entry: IndexEntry }[];
  messages?: MessageRecord[];
}

const CHANNEL_COLUMNS = columnsOf(CHANNEL_FIELDS);
const CONVERSATION_COLUMNS = columnsOf(CONVERSATION_FIELDS);
/** A conversation's place in its user's indexes (see @cs/domain fan-out.ts). */
const INDEX_COLUMNS = 'index_version, index_ts, large_member';
/** int64 columns leave PostgreSQL as text inside JSON, so no double ever holds them. */
const CHANNEL_COLUMNS_AS_JSON = columnsAsJsonOf(CHANNEL_FIELDS);
const CONVERSATION_COLUMNS_AS_JSON = columnsAsJsonOf(CONVERSATION_FIELDS);
const MESSAGE_COLUMNS = columnsOf(MESSAGE_FIELDS);
const MESSAGE_COLUMNS_OF_M = columnsOf(MESSAGE_FIELDS, 'm.');

/* eslint-disable @typescript-eslint/no-explicit-any */
type Row = Record<string, any>;

function channelFromRow(row: Row): ChannelRecord {
  return decodeFields(CHANNEL_FIELDS, ({ column }) => row[column]);
}

function indexEntryFromRow(row: Row): IndexEntry {
  if (row.large_member) return { kind: 'large' };
  return { kind: 'indexed', version: BigInt(row.index_version), timestamp: row.index_ts === null ? null : Number(row.index_ts) };
}

function indexColumnsOf(entry: IndexEntry): [string | null, number | null, boolean] {
  return entry.kind === 'large' ? [null, null, true] : [entry.version.toString(), entry.timestamp, false];
}

function conversationFromRow(row: Row): ConversationRecord {
  return decodeFields(CONVERSATION_FIELDS, ({ column }) => row[column]);
}

function columnsOf<R>(fields: readonly StoredField<R>[], qualifier = ''): string {
  return fields.map(({ column }) => qualifier + column).join(', ');
}

function columnsAsJsonOf<R>(fields: readonly StoredField<R>[]): string {
  return fields.map(({ column, sql }) => (sql === 'int64' ? `${column}::text AS ${column}` : column)).join(', ');
}

/** The SELECT list reading a stored JSON array `array` as the record's columns. */
function valuesOf<R>(fields: readonly StoredField<R>[], array: string): string {
  return fields.map(({ sql }, i) => valueAt(array, i, sql)).join(', ');
}

function updatesOf<R>(fields: readonly StoredField<R>[]): string {
  return fields.filter((f) => !f.fixed).map(({ column }) => `${column} = EXCLUDED.${column}`).join(', ');
}

function messageFromRow(row: Row): MessageRecord {
  return decodeFields(MESSAGE_FIELDS, ({ column }) => row[column]);
}

function windowFromRow(row: Row): MessageWindow {
  return { channelKey: row.channel_key, lane: row.lane === '' ? null : row.lane, keptSeqs: row.kept_seqs, droppedUpTo: Number(row.dropped_up_to) };
}

/** The channel's own window is lane '' in PostgreSQL (uids are never empty). */
function laneColumn(lane: string | null): string {
  return lane ?? '';
}

/** Element `index` of a JSON array as SQL of the column's type. */
function valueAt(array: string, index: number, sql: StoredType): string {
  switch (sql) {
    case 'text':
      return `${array}->>${index}`;
    case 'jsonb':
      return jsonbAt(array, index);
    case 'int64':
      return `(${array}->>${index})::bigint`;
    case 'lane':
      return `coalesce(${array}->>${index}, '')`;
    default:
      return `(${array}->>${index})::${sql}`;
  }
}

/** Element `index` of a JSON array as jsonb, SQL NULL for JSON null. */
function jsonbAt(array: string, index: number): string {
  return `CASE WHEN jsonb_typeof(${array}->${index}) = 'null' THEN NULL ELSE ${array}->${index} END`;
}
