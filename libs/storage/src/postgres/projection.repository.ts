import {
  ChannelRecord,
  ConversationRecord,
  MessageHead,
  MessageRecord,
  ProjectionState,
  RecordsNeeded,
  conversationKeyOf,
  emptyProjectionState,
  messageSlot,
} from '@cs/domain';
import { Pool, PoolClient } from 'pg';
import { RecentsRequest, SyncRead, SyncReadStore, UserSnapshot } from '../user-snapshot';

type Queryable = Pool | PoolClient;

/** SQL for the projection records. Holds no rules: those live in @cs/domain. */
export class ProjectionRepository implements SyncReadStore {
  constructor(private readonly pool: Pool) {}

  /**
   * Locks the single version clock row until the transaction ends. Every batch
   * takes it, so batches from all consumer instances apply one after another
   * and versions are handed out in the order their changes become visible.
   */
  async lockVersionClock(client: PoolClient): Promise<bigint> {
    const { rows } = await client.query<{ version: string }>('SELECT version FROM version_clock WHERE id = 1 FOR UPDATE');
    return BigInt(rows[0].version);
  }

  async advanceVersionClock(client: PoolClient, version: bigint): Promise<void> {
    await client.query('UPDATE version_clock SET version = $1 WHERE id = 1', [version.toString()]);
  }

  async loadState(client: PoolClient, needed: RecordsNeeded): Promise<ProjectionState> {
    const state = emptyProjectionState();
    const channelKeys = [...new Set(needed.channelKeys)];
    // One client runs one query at a time: these go one after another.
    const channels = await client.query(`SELECT ${CHANNEL_COLUMNS} FROM channels WHERE channel_key = ANY($1::text[])`, [channelKeys]);
    const conversations = await client.query(
      `SELECT ${CONVERSATION_COLUMNS} FROM conversations c
         JOIN unnest($1::text[], $2::text[]) AS wanted(uid, channel_key) USING (uid, channel_key)`,
      [needed.conversations.map((c) => c.uid), needed.conversations.map((c) => c.channelKey)],
    );
    const messages = await client.query<{ channel_key: string; seq: string }>(
      `SELECT m.channel_key, m.seq FROM messages m
         JOIN unnest($1::text[], $2::bigint[]) AS wanted(channel_key, seq) USING (channel_key, seq)`,
      [needed.messages.map((m) => m.channelKey), needed.messages.map((m) => m.seq)],
    );
    for (const row of channels.rows) state.channels.set(row.channel_key, channelFromRow(row));
    for (const row of conversations.rows) {
      const record = conversationFromRow(row);
      state.conversations.set(conversationKeyOf(record.uid, record.channelKey), record);
    }
    for (const row of messages.rows) state.storedMessages.add(messageSlot(row.channel_key, Number(row.seq)));
    return state;
  }

  /** Writes the records `evolve` marked as changed, in three statements. */
  async saveState(client: PoolClient, state: ProjectionState): Promise<void> {
    const channels = [...state.changedChannels].map((key) => state.channels.get(key)!);
    const conversations = [...state.changedConversations].map((key) => state.conversations.get(key)!);
    if (channels.length > 0) await upsertChannels(client, channels);
    if (conversations.length > 0) await upsertConversations(client, conversations);
    if (state.newMessages.length > 0) await insertMessages(client, state.newMessages);
  }

  /** One repeatable-read transaction, so the snapshot and its recents agree. */
  async readSync(uid: string, planRecents: (snapshot: UserSnapshot) => RecentsRequest[]): Promise<SyncRead> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const snapshot = await this.readUser(uid, client);
      const recents = await this.readRecents(planRecents(snapshot), client);
      await client.query('COMMIT');
      return { snapshot, recents };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async readUser(uid: string, db: Queryable = this.pool): Promise<UserSnapshot> {
    const { rows } = await db.query(`SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE uid = $1`, [uid]);
    const conversations = rows.map(conversationFromRow);
    const memberChannels = conversations.filter((c) => c.membership === 'member').map((c) => c.channelKey);
    const channels = new Map<string, ChannelRecord>();
    if (memberChannels.length > 0) {
      const found = await db.query(`SELECT ${CHANNEL_COLUMNS} FROM channels WHERE channel_key = ANY($1::text[])`, [memberChannels]);
      for (const row of found.rows) channels.set(row.channel_key, channelFromRow(row));
    }
    return { conversations, channels };
  }

  /** Visibility is filtered in SQL, so LIMIT is exact (mirrors isVisibleTo in @cs/domain). */
  async readRecents(requests: RecentsRequest[], db: Queryable = this.pool): Promise<MessageRecord[][]> {
    if (requests.length === 0) return [];
    const { rows } = await db.query(
      `SELECT wanted.i, ${MESSAGE_COLUMNS}
         FROM unnest($1::int[], $2::text[], $3::bigint[], $4::bigint[], $5::int[], $6::text[], $7::text[], $8::bigint[])
              AS wanted(i, channel_key, after_seq, upto_seq, lim, uid, membership, left_version)
         CROSS JOIN LATERAL (
           SELECT * FROM messages m
            WHERE m.channel_key = wanted.channel_key AND m.seq > wanted.after_seq AND m.seq <= wanted.upto_seq
              AND CASE WHEN m.recipients IS NOT NULL THEN m.recipients ? wanted.uid
                       WHEN wanted.membership = 'member' THEN true
                       WHEN wanted.membership = 'left' THEN m.version < wanted.left_version
                       ELSE false END
            ORDER BY m.seq DESC LIMIT wanted.lim) m
        ORDER BY wanted.i, m.seq DESC`,
      [
        requests.map((_, i) => i),
        requests.map((r) => r.conversation.channelKey),
        requests.map((r) => r.afterSeq),
        requests.map((r) => r.uptoSeq),
        requests.map((r) => r.count),
        requests.map((r) => r.conversation.uid),
        requests.map((r) => r.conversation.membership),
        requests.map((r) => r.conversation.leftVersion?.toString() ?? null),
      ],
    );
    const result: MessageRecord[][] = requests.map(() => []);
    for (const row of rows) result[row.i].push(messageFromRow(row));
    return result;
  }

  /** Pages through every record, for rebuilding the Redis projection. */
  async *allRecords(client: PoolClient, pageSize = 5_000): AsyncGenerator<{ channels?: ChannelRecord[]; conversations?: ConversationRecord[]; messages?: MessageRecord[] }> {
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
        `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE (uid, channel_key) > ($1, $2) ORDER BY uid, channel_key LIMIT $3`,
        [afterUid, afterKey, pageSize],
      );
      if (rows.length === 0) break;
      yield { conversations: rows.map(conversationFromRow) };
      afterUid = rows[rows.length - 1].uid;
      afterKey = rows[rows.length - 1].channel_key;
    }
    let afterSeq = '0';
    afterKey = '';
    for (;;) {
      const { rows } = await client.query(
        `SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE (channel_key, seq) > ($1, $2::bigint) ORDER BY channel_key, seq LIMIT $3`,
        [afterKey, afterSeq, pageSize],
      );
      if (rows.length === 0) break;
      yield { messages: rows.map(messageFromRow) };
      afterKey = rows[rows.length - 1].channel_key;
      afterSeq = rows[rows.length - 1].seq;
    }
  }

  async isEmpty(client: PoolClient): Promise<boolean> {
    const { rows } = await client.query('SELECT NOT EXISTS (SELECT 1 FROM conversations) AND NOT EXISTS (SELECT 1 FROM channels) AS empty');
    return rows[0].empty;
  }
}

const CHANNEL_COLUMNS = 'channel_key, channel_type, latest_seq, broadcast_head, broadcast_version';
const CONVERSATION_COLUMNS =
  'uid, channel_key, channel_id, channel_type, floor, read_seq, own_seq, direct_head, membership, left_version, frozen_head, version, cleared_version';
const MESSAGE_COLUMNS = 'm.channel_key, m.seq, m.message_id, m.from_uid, m.timestamp, m.client_msg_no, m.version, m.recipients, m.body';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Row = Record<string, any>;

function channelFromRow(row: Row): ChannelRecord {
  return {
    key: row.channel_key,
    channelType: row.channel_type,
    latestSeq: Number(row.latest_seq),
    broadcastHead: row.broadcast_head as MessageHead | null,
    broadcastVersion: BigInt(row.broadcast_version),
  };
}

function conversationFromRow(row: Row): ConversationRecord {
  return {
    uid: row.uid,
    channelKey: row.channel_key,
    channelId: row.channel_id,
    channelType: row.channel_type,
    floor: Number(row.floor),
    readSeq: Number(row.read_seq),
    ownSeq: Number(row.own_seq),
    directHead: row.direct_head as MessageHead | null,
    membership: row.membership,
    leftVersion: row.left_version === null ? null : BigInt(row.left_version),
    frozenHead: row.frozen_head as MessageHead | null,
    version: BigInt(row.version),
    clearedVersion: row.cleared_version === null ? null : BigInt(row.cleared_version),
  };
}

function messageFromRow(row: Row): MessageRecord {
  return {
    channelKey: row.channel_key,
    seq: Number(row.seq),
    messageId: BigInt(row.message_id),
    fromUid: row.from_uid,
    timestamp: Number(row.timestamp),
    clientMsgNo: row.client_msg_no,
    version: BigInt(row.version),
    recipients: row.recipients as string[] | null,
    body: row.body,
  };
}

const json = (value: unknown) => (value === null ? null : JSON.stringify(value));
const int64 = (value: bigint | null) => (value === null ? null : value.toString());

async function upsertChannels(client: PoolClient, channels: ChannelRecord[]): Promise<void> {
  await client.query(
    `INSERT INTO channels (${CHANNEL_COLUMNS})
     SELECT * FROM unnest($1::text[], $2::smallint[], $3::bigint[], $4::jsonb[], $5::bigint[])
     ON CONFLICT (channel_key) DO UPDATE SET
       latest_seq = EXCLUDED.latest_seq, broadcast_head = EXCLUDED.broadcast_head, broadcast_version = EXCLUDED.broadcast_version`,
    [
      channels.map((c) => c.key),
      channels.map((c) => c.channelType),
      channels.map((c) => c.latestSeq),
      channels.map((c) => json(c.broadcastHead)),
      channels.map((c) => int64(c.broadcastVersion)),
    ],
  );
}

async function upsertConversations(client: PoolClient, conversations: ConversationRecord[]): Promise<void> {
  await client.query(
    `INSERT INTO conversations (${CONVERSATION_COLUMNS})
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::bigint[], $6::bigint[], $7::bigint[],
                          $8::jsonb[], $9::text[], $10::bigint[], $11::jsonb[], $12::bigint[], $13::bigint[])
     ON CONFLICT (uid, channel_key) DO UPDATE SET
       floor = EXCLUDED.floor, read_seq = EXCLUDED.read_seq, own_seq = EXCLUDED.own_seq, direct_head = EXCLUDED.direct_head,
       membership = EXCLUDED.membership, left_version = EXCLUDED.left_version, frozen_head = EXCLUDED.frozen_head,
       version = EXCLUDED.version, cleared_version = EXCLUDED.cleared_version`,
    [
      conversations.map((c) => c.uid),
      conversations.map((c) => c.channelKey),
      conversations.map((c) => c.channelId),
      conversations.map((c) => c.channelType),
      conversations.map((c) => c.floor),
      conversations.map((c) => c.readSeq),
      conversations.map((c) => c.ownSeq),
      conversations.map((c) => json(c.directHead)),
      conversations.map((c) => c.membership),
      conversations.map((c) => int64(c.leftVersion)),
      conversations.map((c) => json(c.frozenHead)),
      conversations.map((c) => int64(c.version)),
      conversations.map((c) => int64(c.clearedVersion)),
    ],
  );
}

async function insertMessages(client: PoolClient, messages: MessageRecord[]): Promise<void> {
  await client.query(
    `INSERT INTO messages (channel_key, seq, message_id, from_uid, timestamp, client_msg_no, version, recipients, body)
     SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::text[], $7::bigint[], $8::jsonb[], $9::text[])
     ON CONFLICT (channel_key, seq) DO NOTHING`,
    [
      messages.map((m) => m.channelKey),
      messages.map((m) => m.seq),
      messages.map((m) => m.messageId.toString()),
      messages.map((m) => m.fromUid),
      messages.map((m) => m.timestamp),
      messages.map((m) => m.clientMsgNo),
      messages.map((m) => m.version.toString()),
      messages.map((m) => json(m.recipients)),
      messages.map((m) => m.body),
    ],
  );
}
