// Type-only: the bench loads redis-layout.ts from source, without the @cs path aliases.
import type { ChannelRecord } from '@cs/domain';

/**
 * A channel record's stored fields, in order: the codec, PostgreSQL's column
 * list and upsert (projection.repository.ts) and Lua's field access
 * (redis-layout.ts) all derive from this list.
 */
export const CHANNEL_FIELDS = [
  { field: 'key', column: 'channel_key', sql: 'text' },
  { field: 'channelType', column: 'channel_type', sql: 'smallint' },
  { field: 'latestSeq', column: 'latest_seq', sql: 'bigint' },
  { field: 'broadcastHead', column: 'broadcast_head', sql: 'jsonb' },
  { field: 'broadcastVersion', column: 'broadcast_version', sql: 'int64' },
  { field: 'memberCount', column: 'member_count', sql: 'integer' },
] as const satisfies readonly { field: keyof ChannelRecord; column: string; sql: 'text' | 'smallint' | 'integer' | 'bigint' | 'jsonb' | 'int64' }[];

/** 1-based position of a channel field in its stored JSON array, for Lua. */
export function channelFieldPosition(field: keyof ChannelRecord): number {
  return CHANNEL_FIELDS.findIndex((f) => f.field === field) + 1;
}
