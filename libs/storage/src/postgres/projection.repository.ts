import {
  ChannelRecord,
  ConversationRecord,
  DEFAULT_SMALL_GROUP_MAX_MEMBERS,
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
  versionStepAtOrBelow,
} from '@cs/domain';
import { Pool, PoolClient } from 'pg';
import { CHANNEL_FIELDS, CONVERSATION_FIELDS, EncodedChanges, MESSAGE_FIELDS, jsonArrayOf } from '../record-codec';
import { StoredField, StoredType, decodeFields } from '../record-fields';
import { ADVISORY_LOCKS } from './advisory-locks';
import { indexEntriesSql } from './index-backfill.sql';
import { inTransaction } from './database';
import { StoreSnapshot, SyncReadStore } from '../user-snapshot';

type Queryable = Pool | PoolClient;

/**
 * What a load made before the partition's row was locked must still match
 * under the lock: the partition's checkpoint (no other instance applied the
 * partition meanwhile) and its cross-partition epoch (no write reached into
 * other partitions' channels). nextOffset null: the partition has no row yet.
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

/** The partition's row, locked for the batch: its guard, and the floors its versions must be above. */
export interface LockedPartition extends LoadGuard {
  lastVersion: bigint;
  closedVersion: bigint;
  /** PostgreSQL's clock in nanoseconds (one clock for every consumer host). */
  nowNs: bigint;
}

export const PARTITIONS_LOCK_KEY = ADVISORY_LOCKS.partitions;
const CLOSER_LOCK_KEY = ADVISORY_LOCKS.closer;

/** PostgreSQL's clock_timestamp() in nanoseconds (microsecond resolution). */
const NOW_NS = '((extract(epoch FROM clock_timestamp()) * 1000000)::bigint * 1000)';

/** SQL for the projection records. Holds no rules: those live in @cs/domain. */
export class ProjectionRepository implements SyncReadStore {
  /** `cursorScope`: the group and topic whose partitions' closed versions bound the PostgreSQL answers (the API's). */
  constructor(
    private readonly pool: Pool,
    private readonly cursorScope?: { groupId: string; topic: string },
  ) {}

  /**
   * An ordinary batch: takes the partitions lock shared and locks only its own
   * partition's row until the transaction ends, so batches of other partitions
   * run side by side. One statement; FOR UPDATE returns the row as the batch
   * it waited for committed it. null when the partition has no row yet (it is
   * registered under the exclusive lock, see lockAllPartitions).
   */
  async lockPartition(client: PoolClient, position: PartitionPosition): Promise<LockedPartition | null> {
    const { rows } = await client.query<LockedRow>(
      `SELECT ${LOCKED_COLUMNS}, ${NOW_NS}::text AS now_ns
         FROM consumer_checkpoints c, (SELECT pg_advisory_xact_lock_shared(${PARTITIONS_LOCK_KEY})) AS shared
        WHERE c.group_id = $1 AND c.topic = $2 AND c.partition = $3
          FOR UPDATE OF c`,
      [position.groupId, position.topic, position.partition],
    );
    return rows.length === 0 ? null : lockedFrom(rows[0], 0n);
  }

  /**
   * Rare work that spans partitions (an event not keyed by its channel, a
   * partition's first batch, a Redis rebuild): takes the partitions lock
   * exclusively (no batch is in flight), registers the partition's row if
   * missing, and locks every row (the closer skips them). The floor returned
   * as lastVersion is the highest version any partition handed out or closed,
   * so what this work writes is above every partition's closed version.
   */
  async lockAllPartitions(client: PoolClient, position: PartitionPosition | null): Promise<LockedPartition> {
    await client.query(`SELECT pg_advisory_xact_lock(${PARTITIONS_LOCK_KEY})`);
    const { rows } = await client.query<{ floor: string; now_ns: string }>(
      `WITH locked AS (SELECT last_version, closed_version FROM consumer_checkpoints FOR UPDATE)
       SELECT greatest((SELECT max(greatest(last_version, closed_version)) FROM locked), (SELECT version FROM version_clock WHERE id = 1), 0)::text AS floor,
              ${NOW_NS}::text AS now_ns`,
    );
    const floor = BigInt(rows[0].floor);
    const nowNs = BigInt(rows[0].now_ns);
    if (position === null) return { nextOffset: null, epoch: '0', lastVersion: floor, closedVersion: floor, nowNs };
    // A new row is closed where every partition's versions already are, so W never goes down for it.
    const closed = versionStepAtOrBelow(floor > nowNs ? floor : nowNs).toString();
    const own = await client.query<LockedRow>(
      `INSERT INTO consumer_checkpoints AS c (group_id, topic, partition, next_offset, last_version, closed_version) VALUES ($1, $2, $3, 0, $4, $4)
       ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = c.next_offset
       RETURNING ${LOCKED_COLUMNS}, '0' AS now_ns`,
      [position.groupId, position.topic, position.partition, closed],
    );
    return { ...lockedFrom(own.rows[0], floor), nowNs };
  }

  /**
   * Partitions 0..count-1 of the topic get a row if they have none, closed
   * above every partition's versions, under the exclusive lock: a partition
   * the topic gained is part of W (the cursor) before its first batch, and
   * W never goes down for it. Returns how many were added.
   */
  async registerPartitions(groupId: string, topic: string, count: number): Promise<number> {
    return inTransaction(this.pool, async (client) => {
      const { lastVersion, nowNs } = await this.lockAllPartitions(client, null);
      const closed = versionStepAtOrBelow(lastVersion > nowNs ? lastVersion : nowNs);
      const { rowCount } = await client.query(
        `INSERT INTO consumer_checkpoints (group_id, topic, partition, next_offset, last_version, closed_version)
         SELECT $1, $2, p, 0, $4, $4 FROM generate_series(0, $3 - 1) AS p
         ON CONFLICT DO NOTHING`,
        [groupId, topic, count, closed.toString()],
      );
      return rowCount ?? 0;
    });
  }

  /**
   * The closer's tick, one statement: when this instance gets the closer lock,
   * every partition of the group's topic with no batch in flight (its row not
   * locked) is closed at PostgreSQL's now (a multiple of the version step, never
   * below its last version); returns every partition's closed version.
   */
  async closeIdlePartitions(groupId: string, topic: string): Promise<{ partition: number; closedVersion: bigint }[]> {
    const { rows } = await this.pool.query<{ partition: number; closed_version: string }>(
      `WITH gate AS (SELECT pg_try_advisory_xact_lock(${CLOSER_LOCK_KEY}) AS mine),
            idle AS (
              SELECT c.partition FROM consumer_checkpoints c, gate
               WHERE gate.mine AND c.group_id = $1 AND c.topic = $2
                 FOR UPDATE OF c SKIP LOCKED),
            raised AS (
              UPDATE consumer_checkpoints c
                 SET closed_version = greatest(c.closed_version, c.last_version, ${NOW_NS} / 1024 * 1024)
                FROM idle WHERE c.group_id = $1 AND c.topic = $2 AND c.partition = idle.partition
              RETURNING c.partition, c.closed_version)
       SELECT partition, closed_version::text FROM raised
       UNION ALL
       SELECT partition, closed_version::text FROM consumer_checkpoints
        WHERE group_id = $1 AND topic = $2 AND partition NOT IN (SELECT partition FROM raised)`,
      [groupId, topic],
    );
    return rows.map((row) => ({ partition: row.partition, closedVersion: BigInt(row.closed_version) }));
  }

  /** Every partition's closed version for the group's topic, and the highest version handed out anywhere (for a rebuild, under lockAllPartitions). */
  async partitionVersions(client: PoolClient, groupId: string, topic: string): Promise<{ closed: { partition: number; closedVersion: bigint }[]; highest: bigint }> {
    const { rows } = await client.query<{ partition: number | null; closed_version: string | null; highest: string | null }>(
      `SELECT c.partition, c.closed_version::text, (SELECT max(greatest(last_version, closed_version)) FROM consumer_checkpoints)::text AS highest
         FROM (SELECT 1) AS one LEFT JOIN consumer_checkpoints c ON c.group_id = $1 AND c.topic = $2`,
      [groupId, topic],
    );
    return {
      closed: rows.filter((row) => row.partition !== null).map((row) => ({ partition: row.partition!, closedVersion: BigInt(row.closed_version!) })),
      highest: BigInt(rows[0]?.highest ?? '0'),
    };
  }

  /**
   * The records a batch needs, in one round trip (parameters and rows travel
   * as JSON), with the partition's checkpoint and cross-partition epoch seen
   * by the same snapshot: the batch may load before it locks its partition.
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
         (SELECT cross_partition_epoch::text FROM consumer_checkpoints WHERE group_id = $4 AND topic = $5 AND partition = $6) AS epoch,
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
    return { state, nextOffset: found.next_offset, epoch: found.epoch ?? '0' };
  }

  /**
   * Writes, in one statement, the changed records (as encoded for Redis too:
   * JSON arrays, int64 as decimal strings) and the partition's new checkpoint,
   * last and closed version (its highest: committed with the records, so
   * closed). `spansPartitions` (work under lockAllPartitions) raises every
   * row's last and closed version to it, so each partition's next versions
   * stay above what this batch wrote into its channels; `crossesPartitions`
   * also raises every row's cross-partition epoch.
   * Index entries: only those of conversations that are not a group's current
   * members (see migration 10: members' entries are computed when read, so
   * the entries a small group's message moves, changes.entries, are Redis's alone).
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
    spansPartitions: boolean,
  ): Promise<void> {
    await client.query(
      `WITH
         saved_channels AS (
           INSERT INTO channels (${CHANNEL_COLUMNS})
           SELECT ${valuesOf(CHANNEL_FIELDS, 'r')}
             FROM jsonb_array_elements($1::jsonb) AS r
           ON CONFLICT (channel_key) DO UPDATE SET ${updatesOf(CHANNEL_FIELDS)}),
         saved_conversations AS (
           INSERT INTO conversations (${CONVERSATION_COLUMNS})
           SELECT ${valuesOf(CONVERSATION_FIELDS, 'r')}
             FROM jsonb_array_elements($2::jsonb) AS r
           ON CONFLICT (uid, channel_key) DO UPDATE SET ${updatesOf(CONVERSATION_FIELDS)}),
         saved_entries AS (
           INSERT INTO conversation_index (uid, channel_key, version, ts)
           SELECT x->>0, x->>1, (x->>2)::bigint, (x->>3)::bigint
             FROM json_array_elements($12::json) AS x
           ON CONFLICT (uid, channel_key) DO UPDATE SET version = EXCLUDED.version, ts = EXCLUDED.ts),
         dropped_entries AS (
           DELETE FROM conversation_index i USING json_array_elements($14::json) AS x
            WHERE i.uid = x->>0 AND i.channel_key = x->>1),
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
            WHERE m.channel_key = t.channel_key AND m.lane = t.lane AND m.seq < t.keep_from)
       UPDATE consumer_checkpoints c SET
         next_offset = CASE WHEN c.partition = $6 AND c.group_id = $4 AND c.topic = $5 THEN $7 ELSE c.next_offset END,
         last_version = greatest(c.last_version, $8), closed_version = greatest(c.closed_version, $8),
         cross_partition_epoch = c.cross_partition_epoch + CASE WHEN $9 THEN 1 ELSE 0 END
        WHERE $13 OR (c.group_id = $4 AND c.topic = $5 AND c.partition = $6)`,
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
        JSON.stringify(changes.conversations.filter(({ record }) => !followsItsChannel(record)).map(({ record, entry }) => indexRowOf(record, entry))),
        spansPartitions,
        JSON.stringify(changes.conversations.filter(({ record }) => followsItsChannel(record)).map(({ record }) => [record.uid, record.channelKey])),
      ],
    );
  }

  /**
   * What `plan` names, in one repeatable-read transaction, with W: the
   * lowest closed version of the cursor scope's partitions (everything at or
   * below it is committed, so in this snapshot). See SyncReadPlan for what
   * each read costs; with PostgreSQL a ranked page skips the ranks before it
   * in the index (O(rank), not a log).
   */
  async readSnapshot(uid: string, plan: SyncReadPlan): Promise<StoreSnapshot> {
    return inTransaction(
      this.pool,
      async (client) => {
        const frontier = await this.readFrontier(client);
        const { conversations, ranked } = await this.readPlanned(client, uid, plan);
        const channels = await this.readChannels(client, conversations);
        return { conversations, channels, ranked, frontier };
      },
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
    );
  }

  /** null without a cursor scope (every record is reported as it is). */
  private async readFrontier(client: PoolClient): Promise<bigint | null> {
    if (this.cursorScope === undefined) return null;
    const { rows } = await client.query<{ frontier: string | null }>(
      'SELECT min(closed_version)::text AS frontier FROM consumer_checkpoints WHERE group_id = $1 AND topic = $2',
      [this.cursorScope.groupId, this.cursorScope.topic],
    );
    return BigInt(rows[0].frontier ?? '0');
  }

  /**
   * The conversations `plan` names. conversation_index holds the entries that
   * change with their own record; a group member's entry follows the
   * channel's messages, so it is computed from the member's record and the
   * channel's (indexEntriesSql, parity-tested against @cs/domain): O(changed
   * + the user's group memberships), and a ranked page is exact (no large
   * groups read beside it).
   */
  private async readPlanned(db: Queryable, uid: string, plan: SyncReadPlan): Promise<{ conversations: ConversationRecord[]; ranked?: SyncSnapshot['ranked'] }> {
    const memberships = indexEntriesSql(0, "c2.uid = $1 AND c2.membership = 'member'");
    switch (plan.read) {
      case 'everything': {
        const { rows } = await db.query(`SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE uid = $1`, [uid]);
        return { conversations: rows.map(conversationFromRow) };
      }
      case 'changed': {
        const { rows } = await db.query(
          `WITH changed AS (
             SELECT uid, channel_key FROM conversation_index WHERE uid = $1 AND version > $2::bigint
             UNION ALL
             SELECT uid, channel_key FROM (${memberships}) x WHERE x.version > $2::bigint)
           SELECT ${CONVERSATION_COLUMNS_OF_C} FROM changed JOIN conversations c USING (uid, channel_key)`,
          [uid, plan.afterVersion.toString()],
        );
        return { conversations: rows.map(conversationFromRow) };
      }
      case 'ranked': {
        const { rows } = await db.query(
          `WITH listed AS (
             (SELECT uid, channel_key, ts, version FROM conversation_index WHERE uid = $1 AND ts IS NOT NULL
               ORDER BY ts DESC, version DESC LIMIT $2::int + $3::int)
             UNION ALL
             SELECT uid, channel_key, ts, version FROM (${memberships}) x WHERE x.ts IS NOT NULL),
           page AS (SELECT * FROM listed ORDER BY ts DESC, version DESC OFFSET $2 LIMIT $3)
           SELECT ${CONVERSATION_COLUMNS_OF_C} FROM page JOIN conversations c USING (uid, channel_key)
            ORDER BY page.ts DESC, page.version DESC`,
          [uid, plan.from, plan.count],
        );
        const conversations = rows.map(conversationFromRow);
        return { conversations, ranked: { firstRank: plan.from, keys: conversations.map((c) => c.channelKey) } };
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

  /**
   * Each entry's recents (keyed as asked), read after the snapshot: a message
   * applied since can only be one at or below its conversation's lastMsgSeq
   * that arrived late, which the answer may as well carry.
   */
  async readRecents(requests: ReadonlyMap<string, RecentsRequest>): Promise<Map<string, MessageRecord[]>> {
    const result = new Map<string, MessageRecord[]>();
    for (const key of requests.keys()) result.set(key, []);
    const keyed = [...requests].map(([key, request], i) => ({ key, request, i }));
    // One statement per direction, so each scans the primary key in its own order.
    for (const order of ['DESC', 'ASC'] as const) {
      const wanted = keyed.filter(({ request }) => (request.oldestFirst === true) === (order === 'ASC'));
      if (wanted.length > 0) {
        for (const { i, message } of await this.readRecentsInOrder(wanted, order)) result.get(keyed[i].key)!.push(message);
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
  ): Promise<{ i: number; message: MessageRecord }[]> {
    const { rows } = await this.pool.query(
      `SELECT wanted.i, ${MESSAGE_COLUMNS_OF_M}
         FROM unnest($1::int[], $2::text[], $3::bigint[], $4::bigint[], $5::int[], $6::text[], $7::text[], $8::bigint[])
              AS wanted(i, channel_key, after_seq, upto_seq, lim, uid, membership, left_version)
         CROSS JOIN LATERAL (
           SELECT * FROM messages m
            WHERE m.channel_key = wanted.channel_key AND m.lane IN ('', wanted.uid)
              AND m.seq > wanted.after_seq AND m.seq <= wanted.upto_seq
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
      ],
    );
    return rows.map((row) => ({ i: row.i, message: messageFromRow(row) }));
  }

  /** Pages through every record, for rebuilding the Redis projection; conversations with their index entries, computed. */
  async *allRecords(client: PoolClient, smallGroupMaxMembers = DEFAULT_SMALL_GROUP_MAX_MEMBERS, pageSize = 5_000): AsyncGenerator<StoredRecords> {
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
        `SELECT ${CONVERSATION_COLUMNS_OF_C}, x.large, x.version::text AS entry_version, x.ts
           FROM (${indexEntriesSql(smallGroupMaxMembers, '(c2.uid, c2.channel_key) > ($1, $2)')} ORDER BY c2.uid, c2.channel_key LIMIT $3) x
           JOIN conversations c USING (uid, channel_key)
          ORDER BY c.uid, c.channel_key`,
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
const CONVERSATION_COLUMNS_OF_C = columnsOf(CONVERSATION_FIELDS, 'c.');

const LOCKED_COLUMNS =
  'c.next_offset::text AS next_offset, c.cross_partition_epoch::text AS epoch, c.last_version::text AS last_version, c.closed_version::text AS closed_version';

interface LockedRow {
  next_offset: string | null;
  epoch: string | null;
  last_version: string | null;
  closed_version: string | null;
  now_ns: string;
}

function lockedFrom(row: LockedRow, floor: bigint): LockedPartition {
  const last = BigInt(row.last_version ?? '0');
  return {
    nextOffset: row.next_offset,
    epoch: row.epoch ?? '0',
    lastVersion: last > floor ? last : floor,
    closedVersion: BigInt(row.closed_version ?? '0'),
    nowNs: BigInt(row.now_ns),
  };
}
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

/** An entry as indexEntriesSql computes it (large, entry_version, ts). */
function indexEntryFromRow(row: Row): IndexEntry {
  if (row.large) return { kind: 'large' };
  return { kind: 'indexed', version: BigInt(row.entry_version), timestamp: row.ts === null ? null : Number(row.ts) };
}

/** A conversation_index row as saveBatch reads it: uid, channel key, version, timestamp. */
function indexRowOf(record: ConversationRecord, entry: IndexEntry): [string, string, string, number | null] {
  if (entry.kind === 'large') throw new Error(`${record.uid}'s entry for ${record.channelKey} is a large group's, yet not a member's`);
  return [record.uid, record.channelKey, entry.version.toString(), entry.timestamp];
}

/** A group's current member: the entry follows the channel's messages, computed when read (see readPlanned). */
function followsItsChannel(record: ConversationRecord): boolean {
  return record.membership === 'member';
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
