/**
 * Per-user index entries computed in SQL from the records. It restates
 * @cs/domain's indexEntryOf (fan-out.ts, over visibleHead and
 * effectiveVersion): test/read-rule-parity.e2e.spec.ts feeds the same records
 * to both. Columns: uid, channel_key, member (a current member of a group:
 * its entry follows the channel's messages), large, version, head (jsonb),
 * ts. `where` filters the conversations (alias c2).
 */
export function indexEntriesSql(smallGroupMaxMembers: number, where = 'true'): string {
  return `
      SELECT c2.uid, c2.channel_key, c2.membership = 'member' AS member,
             c2.membership = 'member' AND coalesce(ch.member_count, 0) > ${Number(smallGroupMaxMembers)} AS large,
             CASE WHEN c2.membership = 'member' AND ch.channel_key IS NOT NULL THEN greatest(c2.version, ch.broadcast_version) ELSE c2.version END AS version,
             h.head, (h.head->>'timestamp')::bigint AS ts
        FROM conversations c2
        LEFT JOIN channels ch ON ch.channel_key = c2.channel_key
        CROSS JOIN LATERAL (SELECT CASE c2.membership WHEN 'member' THEN ch.broadcast_head WHEN 'left' THEN c2.frozen_head END AS bh) bh0
        CROSS JOIN LATERAL (SELECT CASE WHEN (bh0.bh->>'seq')::bigint > c2.floor THEN bh0.bh END AS head) b
        CROSS JOIN LATERAL (SELECT CASE WHEN (c2.direct_head->>'seq')::bigint > c2.floor THEN c2.direct_head END AS head) d
        CROSS JOIN LATERAL (SELECT CASE WHEN d.head IS NULL THEN b.head WHEN b.head IS NULL THEN d.head
                                        WHEN (d.head->>'seq')::bigint > (b.head->>'seq')::bigint THEN d.head ELSE b.head END AS head) h
       WHERE ${where}`;
}

/** Migration 7's: the index columns it added to conversations (dropped again by migration 10). */
export function reindexConversationsSql(smallGroupMaxMembers: number): string {
  return `
    UPDATE conversations c SET
      large_member = x.large,
      index_version = CASE WHEN x.large THEN NULL ELSE x.version END,
      index_ts = CASE WHEN x.large THEN NULL ELSE x.ts END
    FROM (${indexEntriesSql(smallGroupMaxMembers)}
    ) x
    WHERE c.uid = x.uid AND c.channel_key = x.channel_key`;
}

/**
 * Replaces every row of conversation_index: the entries of the conversations
 * that are not a group's current members (theirs follow the channel's
 * messages and are computed when read, see ProjectionRepository).
 */
export function rebuildConversationIndexSql(): string {
  return `
    DELETE FROM conversation_index;
    INSERT INTO conversation_index (uid, channel_key, version, ts)
    SELECT x.uid, x.channel_key, x.version, x.ts FROM (${indexEntriesSql(0, "c2.membership <> 'member'")}
      ) x`;
}
