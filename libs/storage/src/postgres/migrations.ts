import { rebuildConversationIndexSql, reindexConversationsSql } from './index-backfill.sql';

/** Schema migrations, applied in order, each once. Append; never edit an applied one. */
export const MIGRATIONS: readonly { id: number; name: string; sql: string }[] = [
  {
    id: 1,
    name: 'projections',
    sql: `
      CREATE TABLE version_clock (
        id smallint PRIMARY KEY CHECK (id = 1),
        version bigint NOT NULL
      );
      INSERT INTO version_clock (id, version) VALUES (1, 0);

      CREATE TABLE channels (
        channel_key text PRIMARY KEY,
        channel_type smallint NOT NULL,
        latest_seq bigint NOT NULL,
        broadcast_head jsonb,
        broadcast_version bigint NOT NULL
      );

      CREATE TABLE conversations (
        uid text NOT NULL,
        channel_key text NOT NULL,
        channel_id text NOT NULL,
        channel_type smallint NOT NULL,
        floor bigint NOT NULL,
        read_seq bigint NOT NULL,
        own_seq bigint NOT NULL,
        direct_head jsonb,
        membership text NOT NULL CHECK (membership IN ('none', 'member', 'left')),
        left_version bigint,
        frozen_head jsonb,
        version bigint NOT NULL,
        cleared_version bigint,
        PRIMARY KEY (uid, channel_key)
      );

      CREATE TABLE messages (
        channel_key text NOT NULL,
        seq bigint NOT NULL,
        message_id bigint NOT NULL,
        from_uid text NOT NULL,
        timestamp bigint NOT NULL,
        client_msg_no text NOT NULL,
        version bigint NOT NULL,
        recipients jsonb,
        body text NOT NULL,
        PRIMARY KEY (channel_key, seq)
      );

      CREATE TABLE consumer_checkpoints (
        group_id text NOT NULL,
        topic text NOT NULL,
        partition integer NOT NULL,
        next_offset bigint NOT NULL,
        PRIMARY KEY (group_id, topic, partition)
      );
    `,
  },
  {
    id: 2,
    name: 'dlq_replays',
    // Dead letters re-published by `cli dlq replay`, so none is replayed twice: by DLQ position, and
    // by source position (a batch retried after a failure can dead-letter the same record twice).
    sql: `
      CREATE TABLE dlq_replays (
        dlq_topic text NOT NULL,
        dlq_partition integer NOT NULL,
        dlq_offset bigint NOT NULL,
        source_topic text,
        source_partition integer,
        source_offset bigint,
        target_topic text NOT NULL,
        replayed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (dlq_topic, dlq_partition, dlq_offset)
      );
      CREATE UNIQUE INDEX dlq_replays_source ON dlq_replays (source_topic, source_partition, source_offset);
    `,
  },
  {
    id: 3,
    name: 'room_for_in_place_updates',
    // Conversations and channels are rewritten on every message; free room on each page lets
    // PostgreSQL update them in place (HOT) without touching their primary-key index.
    sql: `
      ALTER TABLE conversations SET (fillfactor = 70);
      ALTER TABLE channels SET (fillfactor = 70);
    `,
  },
  {
    id: 4,
    name: 'cross_partition_epoch',
    // A batch loads its records before it takes the version clock, trusting that only its own
    // partition writes its channels' records. Every write that may break that trust (an event not
    // keyed by its channel, a truncation) raises this epoch; a load made before it moved is redone.
    sql: `ALTER TABLE version_clock ADD COLUMN cross_partition_epoch bigint NOT NULL DEFAULT 0;`,
  },
  {
    id: 5,
    name: 'client_msg_no_and_version_steps',
    // Answers never carry an empty client_msg_no (the native SDKs index it as unique): messages
    // stored without one take their message id, in the record, its rendered body and every head
    // that points at it. The clock moves up to a multiple of 1024 ns, so every version handed out
    // from now on is one (exact as a JavaScript number) and above every version issued before.
    sql: `
      UPDATE messages
         SET client_msg_no = message_id::text,
             body = replace(body, '"client_msg_no":""', '"client_msg_no":"' || message_id::text || '"')
       WHERE client_msg_no = '';
      UPDATE channels c
         SET broadcast_head = jsonb_set(c.broadcast_head, '{clientMsgNo}', to_jsonb(m.message_id::text))
        FROM messages m
       WHERE c.broadcast_head->>'clientMsgNo' = '' AND m.channel_key = c.channel_key AND m.seq = (c.broadcast_head->>'seq')::bigint;
      UPDATE conversations c
         SET direct_head = jsonb_set(c.direct_head, '{clientMsgNo}', to_jsonb(m.message_id::text))
        FROM messages m
       WHERE c.direct_head->>'clientMsgNo' = '' AND m.channel_key = c.channel_key AND m.seq = (c.direct_head->>'seq')::bigint;
      UPDATE conversations c
         SET frozen_head = jsonb_set(c.frozen_head, '{clientMsgNo}', to_jsonb(m.message_id::text))
        FROM messages m
       WHERE c.frozen_head->>'clientMsgNo' = '' AND m.channel_key = c.channel_key AND m.seq = (c.frozen_head->>'seq')::bigint;
      UPDATE version_clock SET version = ((version + 1023) / 1024) * 1024;
    `,
  },
  {
    id: 6,
    name: 'bounded_message_retention',
    // Each message window (see @cs/domain retention.ts) keeps its newest messages only: the
    // channel's ('' lane: member-delivered messages, every person-channel message) and one per
    // explicit recipient of a group (lane = uid, one copy per recipient). Existing windows are
    // trimmed to 100 (the default RECENT_MESSAGES_KEPT; a smaller setting applies on the next
    // message). message_windows is the consumer's index of what each window keeps.
    sql: `
      ALTER TABLE messages ADD COLUMN lane text NOT NULL DEFAULT '';
      ALTER TABLE messages DROP CONSTRAINT messages_pkey;
      INSERT INTO messages (channel_key, seq, message_id, from_uid, timestamp, client_msg_no, version, recipients, body, lane)
        SELECT m.channel_key, m.seq, m.message_id, m.from_uid, m.timestamp, m.client_msg_no, m.version, jsonb_build_array(r.uid), m.body, r.uid
          FROM messages m CROSS JOIN LATERAL (SELECT DISTINCT value AS uid FROM jsonb_array_elements_text(m.recipients)) r
         WHERE m.recipients IS NOT NULL AND left(m.channel_key, 3) <> '[1,';
      DELETE FROM messages WHERE lane = '' AND recipients IS NOT NULL AND left(channel_key, 3) <> '[1,';

      CREATE TABLE message_windows (
        channel_key text NOT NULL,
        lane text NOT NULL,
        kept_seqs jsonb NOT NULL,
        dropped_up_to bigint NOT NULL,
        PRIMARY KEY (channel_key, lane)
      );
      WITH ranked AS (
             SELECT channel_key, lane, seq, row_number() OVER (PARTITION BY channel_key, lane ORDER BY seq DESC) AS newest
               FROM messages),
           trimmed AS (
             DELETE FROM messages m USING ranked r
              WHERE r.newest > 100 AND m.channel_key = r.channel_key AND m.lane = r.lane AND m.seq = r.seq
             RETURNING m.channel_key, m.seq)
      INSERT INTO message_windows (channel_key, lane, kept_seqs, dropped_up_to)
        SELECT channel_key, '', '[]', max(seq) FROM trimmed GROUP BY channel_key;
      INSERT INTO message_windows (channel_key, lane, kept_seqs, dropped_up_to)
        SELECT channel_key, lane, jsonb_agg(seq ORDER BY seq), 0 FROM messages GROUP BY channel_key, lane
      ON CONFLICT (channel_key, lane) DO UPDATE SET kept_seqs = EXCLUDED.kept_seqs;

      ALTER TABLE messages ADD PRIMARY KEY (channel_key, lane, seq);
      -- The dedup lookup (is this seq stored in any window?).
      CREATE INDEX messages_by_seq ON messages (channel_key, seq);
      ALTER TABLE message_windows SET (fillfactor = 70);
    `,
  },
  {
    id: 7,
    name: 'per_user_indexes',
    // Reads that cost what they return (see @cs/domain fan-out.ts): member counts per channel
    // (a channel row for every group with members), and per conversation its place in the user's
    // indexes — by version and by (timestamp, version) — or large_member (a member of a group above
    // SMALL_GROUP_MAX_MEMBERS, default 200 here; a different setting takes effect with cli rebuild).
    sql: `
      ALTER TABLE channels ADD COLUMN member_count integer NOT NULL DEFAULT 0;
      ALTER TABLE conversations ADD COLUMN index_version bigint, ADD COLUMN index_ts bigint, ADD COLUMN large_member boolean NOT NULL DEFAULT false;
      INSERT INTO channels (channel_key, channel_type, latest_seq, broadcast_head, broadcast_version)
        SELECT DISTINCT ON (channel_key) channel_key, channel_type, 0, NULL::jsonb, 0 FROM conversations WHERE membership = 'member'
      ON CONFLICT (channel_key) DO NOTHING;
      UPDATE channels ch SET member_count = m.n
        FROM (SELECT channel_key, count(*) AS n FROM conversations WHERE membership = 'member' GROUP BY channel_key) m
       WHERE ch.channel_key = m.channel_key;
      ${reindexConversationsSql(200)};
      CREATE INDEX conversations_by_version ON conversations (uid, index_version);
      CREATE INDEX conversations_by_time ON conversations (uid, index_ts DESC, index_version DESC) WHERE index_ts IS NOT NULL;
      CREATE INDEX conversations_in_large_groups ON conversations (uid) WHERE large_member;
      CREATE INDEX conversations_members ON conversations (channel_key) WHERE membership = 'member';
    `,
  },
  {
    id: 8,
    name: 'vacuum_what_retention_deletes',
    // Retention deletes a message per message sent, and each conversation update (its index columns
    // move) leaves a dead row; PostgreSQL reuses that space only once vacuumed. By default autovacuum waits for a fifth of a table to be dead; here a fixed number
    // of dead rows triggers it, unthrottled. (Autovacuum still visits a database at most once per
    // server-wide autovacuum_naptime, so ingesting consumers also vacuum: POSTGRES_VACUUM_INTERVAL_MS.)
    sql: `
      ALTER TABLE messages SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000, autovacuum_vacuum_cost_delay = 0);
      ALTER TABLE conversations SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000, autovacuum_vacuum_cost_delay = 0);
    `,
  },
  {
    id: 9,
    name: 'partition_versions',
    // Batches of different partitions write side by side: each partition's checkpoint row holds
    // the last version it handed out, the version it has closed (everything at or below is
    // committed; the API reports versions as min(version, lowest closed over the partitions)),
    // and the cross-partition epoch its early loads are checked against. version_clock is no
    // longer written: its version seeds the rows (and stays a floor for partitions registered later).
    sql: `
      ALTER TABLE consumer_checkpoints
        ADD COLUMN last_version bigint NOT NULL DEFAULT 0,
        ADD COLUMN closed_version bigint NOT NULL DEFAULT 0,
        ADD COLUMN cross_partition_epoch bigint NOT NULL DEFAULT 0;
      UPDATE consumer_checkpoints SET last_version = c.version, closed_version = c.version, cross_partition_epoch = c.cross_partition_epoch
        FROM version_clock c WHERE c.id = 1;
      ALTER TABLE consumer_checkpoints SET (fillfactor = 50);
    `,
  },
  {
    id: 10,
    name: 'index_entries_apart',
    // PostgreSQL keeps no fanned-out entries: a small group's message would rewrite a row per
    // member (about 40 µs each here). A group member's entry follows the channel's messages, so
    // reads compute it from the member's record and the channel's; conversation_index holds only
    // the entries that change with their own record alone (person channels, former members,
    // explicit recipients), in a narrow table, so a conversation's own updates no longer touch an
    // indexed column and PostgreSQL makes them in place (HOT) again.
    sql: `
      CREATE TABLE conversation_index (
        uid text NOT NULL,
        channel_key text NOT NULL,
        version bigint NOT NULL,
        ts bigint,
        PRIMARY KEY (uid, channel_key)
      ) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000, autovacuum_vacuum_cost_delay = 0);
      ${rebuildConversationIndexSql()};
      DROP INDEX conversations_by_version, conversations_by_time, conversations_in_large_groups;
      ALTER TABLE conversations DROP COLUMN index_version, DROP COLUMN index_ts, DROP COLUMN large_member;
      CREATE INDEX conversation_index_by_version ON conversation_index (uid, version);
      CREATE INDEX conversation_index_by_time ON conversation_index (uid, ts DESC, version DESC) WHERE ts IS NOT NULL;
      -- A user's group memberships, whose entries reads compute.
      CREATE INDEX conversations_memberships ON conversations (uid) WHERE membership = 'member';
    `,
  },
];
