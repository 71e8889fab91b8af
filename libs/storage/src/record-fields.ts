// Type-only: the bench loads redis-layout.ts from source, without the @cs path aliases.
import type { ChannelRecord, ConversationRecord, MessageRecord } from '@cs/domain';

/**
 * How a field is stored: in the JSON array (codec; Redis and PostgreSQL's
 * input) and as a PostgreSQL column. bigint: a seq (a JS number, ≤ 2^53);
 * int64: a version or id (a decimal string in JSON, a bigint in JS; may be
 * null). lane: a message window's lane, null in JS and JSON, '' in its
 * PostgreSQL column (part of the primary key, so never NULL there).
 */
export type StoredType = 'text' | 'smallint' | 'integer' | 'bigint' | 'jsonb' | 'int64' | 'lane';

export interface StoredField<R> {
  field: keyof R & string;
  column: string;
  sql: StoredType;
  /** Part of the key, or never changed: left out of the upsert's SET list. */
  fixed?: true;
}

/**
 * A record's stored fields, in order. The codec (record-codec.ts), the SQL
 * column lists, row decoding and upserts (projection.repository.ts) and
 * Lua's field access (redis-layout.ts) all derive from these lists.
 */
export const CHANNEL_FIELDS: readonly StoredField<ChannelRecord>[] = [
  { field: 'key', column: 'channel_key', sql: 'text', fixed: true },
  { field: 'channelType', column: 'channel_type', sql: 'smallint', fixed: true },
  { field: 'latestSeq', column: 'latest_seq', sql: 'bigint' },
  { field: 'broadcastHead', column: 'broadcast_head', sql: 'jsonb' },
  { field: 'broadcastVersion', column: 'broadcast_version', sql: 'int64' },
  { field: 'memberCount', column: 'member_count', sql: 'integer' },
];

export const CONVERSATION_FIELDS: readonly StoredField<ConversationRecord>[] = [
  { field: 'uid', column: 'uid', sql: 'text', fixed: true },
  { field: 'channelKey', column: 'channel_key', sql: 'text', fixed: true },
  { field: 'channelId', column: 'channel_id', sql: 'text', fixed: true },
  { field: 'channelType', column: 'channel_type', sql: 'smallint', fixed: true },
  { field: 'floor', column: 'floor', sql: 'bigint' },
  { field: 'readSeq', column: 'read_seq', sql: 'bigint' },
  { field: 'ownSeq', column: 'own_seq', sql: 'bigint' },
  { field: 'directHead', column: 'direct_head', sql: 'jsonb' },
  { field: 'membership', column: 'membership', sql: 'text' },
  { field: 'leftVersion', column: 'left_version', sql: 'int64' },
  { field: 'frozenHead', column: 'frozen_head', sql: 'jsonb' },
  { field: 'version', column: 'version', sql: 'int64' },
  { field: 'clearedVersion', column: 'cleared_version', sql: 'int64' },
];

export const MESSAGE_FIELDS: readonly StoredField<MessageRecord>[] = [
  { field: 'channelKey', column: 'channel_key', sql: 'text', fixed: true },
  { field: 'seq', column: 'seq', sql: 'bigint', fixed: true },
  { field: 'messageId', column: 'message_id', sql: 'int64' },
  { field: 'fromUid', column: 'from_uid', sql: 'text' },
  { field: 'timestamp', column: 'timestamp', sql: 'bigint' },
  { field: 'clientMsgNo', column: 'client_msg_no', sql: 'text' },
  { field: 'version', column: 'version', sql: 'int64' },
  { field: 'recipients', column: 'recipients', sql: 'jsonb' },
  { field: 'body', column: 'body', sql: 'text' },
  { field: 'lane', column: 'lane', sql: 'lane', fixed: true },
];

/** 1-based position of a channel field in its stored JSON array, for Lua. */
export function channelFieldPosition(field: keyof ChannelRecord): number {
  return CHANNEL_FIELDS.findIndex((f) => f.field === field) + 1;
}

/**
 * The record as its stored JSON array: int64 values as decimal strings (or
 * null), then `writtenAt` when given — one element past the fields, so no
 * field's position moves (see record-codec.ts).
 */
export function encodeFields<R>(fields: readonly StoredField<R>[], record: R, writtenAt?: bigint): string {
  const values = fields.map(({ field, sql }) => (sql === 'int64' ? ((record[field] as bigint | null)?.toString() ?? null) : record[field]));
  return JSON.stringify(writtenAt === undefined ? values : [...values, writtenAt.toString()]);
}

/** A record from its stored JSON array (`values`) or a PostgreSQL row (`row`, by column name). */
export function decodeFields<R>(fields: readonly StoredField<R>[], valueAt: (field: StoredField<R>, index: number) => unknown): R {
  const record: Record<string, unknown> = {};
  fields.forEach((f, i) => {
    const value = valueAt(f, i);
    record[f.field] = decodedValue(f.sql, value);
  });
  return record as R;
}

function decodedValue(sql: StoredType, value: unknown): unknown {
  switch (sql) {
    case 'int64':
      return value === null ? null : BigInt(value as string);
    case 'bigint':
      return Number(value);
    case 'lane':
      return value === '' || value === null || value === undefined ? null : value;
    default:
      return value;
  }
}
