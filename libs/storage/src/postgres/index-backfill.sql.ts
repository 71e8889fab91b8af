/**
 * The per-user index columns of every conversation, recomputed in SQL (for
 * migration 7, on data written before them). It restates @cs/domain's
 * indexEntryOf (fan-out.ts, over visibleHead and effectiveVersion):
 * test/index-parity.e2e.spec.ts feeds the same records to both.
 */
export function reindexConversationsSql(smallGroupMaxMembers: number): string {
  return `
    UPDATE conversations c SET
      large_member = x.large,
      index_version = CASE WHEN x.large THEN NULL ELSE x.version END,
      index_ts = CASE WHEN x.large THEN NULL ELSE (x.head->>'timestamp')::bigint END
    FROM (
      SELECT c2.uid, c2.channel_key,
             c2.membership = 'member' AND coalesce(ch.member_count, 0) > ${Number(smallGroupMaxMembers)} AS large,
             CASE WHEN c2.membership = 'member' AND ch.channel_key IS NOT NULL THEN greatest(c2.version, ch.broadcast_version) ELSE c2.version END AS version,
             CASE WHEN d.head IS NULL THEN b.head WHEN b.head IS NULL THEN d.head
                  WHEN (d.head->>'seq')::bigint > (b.head->>'seq')::bigint THEN d.head ELSE b.head END AS head
        FROM conversations c2
        LEFT JOIN channels ch ON ch.channel_key = c2.channel_key
        CROSS JOIN LATERAL (SELECT CASE c2.membership WHEN 'member' THEN ch.broadcast_head WHEN 'left' THEN c2.frozen_head END AS bh) bh0
        CROSS JOIN LATERAL (SELECT CASE WHEN (bh0.bh->>'seq')::bigint > c2.floor THEN bh0.bh END AS head) b
        CROSS JOIN LATERAL (SELECT CASE WHEN (c2.direct_head->>'seq')::bigint > c2.floor THEN c2.direct_head END AS head) d
    ) x
    WHERE c.uid = x.uid AND c.channel_key = x.channel_key`;
}
