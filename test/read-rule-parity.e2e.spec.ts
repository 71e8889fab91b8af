import {
  ChannelRecord,
  ConversationRecord,
  MessageRecord,
  Membership,
  channelKeyOf,
  conversationKeyOf,
  emptyProjectionState,
  indexEntryOf,
  isVisibleTo,
  lanesReadBy,
} from '@cs/domain';
import { ProjectionRepository, StoredRecords, createPool, encodeChanges, encodeMessage, ensureDatabase, inTransaction, migrate } from '@cs/storage';
import { Pool } from 'pg';
import { rebuildConversationIndexSql } from '../libs/storage/src/postgres/index-backfill.sql';
import { TestEnvironment } from './support/test-environment';

/**
 * Where SQL restates a domain rule, the same cases go to both, through real
 * PostgreSQL: the visibility filter of the recents query (isVisibleTo) and
 * migration 7's index backfill (indexEntryOf, over visibleHead and the
 * effective version).
 */
describe('SQL restating domain rules (real PostgreSQL)', () => {
  const env = new TestEnvironment('read-rule-parity');
  let pool: Pool;
  let repository: ProjectionRepository;
  const SMALL = 2;
  const V = 1_800_000_000_000_000_000n;
  const head = (seq: number) => ({ seq, timestamp: 1_700_000_000 + seq, clientMsgNo: `c${seq}` });

  const channels: ChannelRecord[] = [
    { key: channelKeyOf(2, '', 'small'), channelType: 2, latestSeq: 6, broadcastHead: head(5), broadcastVersion: V + 5120n, memberCount: 2 },
    { key: channelKeyOf(2, '', 'large'), channelType: 2, latestSeq: 6, broadcastHead: head(6), broadcastVersion: V + 6144n, memberCount: 3 },
    { key: channelKeyOf(2, '', 'quiet'), channelType: 2, latestSeq: 0, broadcastHead: null, broadcastVersion: 0n, memberCount: 1 },
  ];
  /** Every membership, floors below, between and above the heads, direct heads or none, versions below and above the channel's. */
  const conversations: ConversationRecord[] = channels.flatMap((channel) =>
    (['member', 'left', 'none'] as Membership[]).flatMap((membership) =>
      [0, 3, 5, 7].flatMap((floor) =>
        [null, 2, 4, 6].flatMap((direct) =>
          [V + 1024n, V + 9216n].map((version): ConversationRecord => {
            const uid = `u-${membership}-${floor}-${direct}-${version % 10_000n}`;
            return {
              uid,
              channelKey: channel.key,
              channelId: JSON.parse(channel.key)[1],
              channelType: 2,
              floor,
              readSeq: 0,
              ownSeq: 0,
              directHead: direct === null ? null : head(direct),
              membership,
              leftVersion: membership === 'left' ? V + 3072n : null,
              frozenHead: membership === 'left' ? head(3) : null,
              version,
              clearedVersion: null,
            };
          }),
        ),
      ),
    ),
  );
  /** Per channel: member-delivered seqs 1..6 (versions V + seq·1024), and copies to explicit recipients at 2, 4, 6. */
  const messages: MessageRecord[] = channels.flatMap((channel) =>
    [1, 2, 3, 4, 5, 6].flatMap((seq): MessageRecord[] => {
      const base = { channelKey: channel.key, seq, messageId: 9_000_000_000_000_000_000n + BigInt(seq), fromUid: 'x', timestamp: 1, clientMsgNo: `c${seq}`, version: V + BigInt(seq) * 1024n, body: '"payload":""' };
      if (seq % 2 === 1) return [{ ...base, recipients: null, lane: null }];
      return conversations.filter((c) => c.channelKey === channel.key && c.directHead?.seq === seq).map((c) => ({ ...base, recipients: [c.uid], lane: c.uid }));
    }),
  );

  beforeAll(async () => {
    await env.setUp();
    await ensureDatabase(env.databaseUrl);
    await migrate(env.databaseUrl);
    pool = createPool(env.databaseUrl);
    repository = new ProjectionRepository(pool);
    const state = emptyProjectionState(100, SMALL);
    for (const channel of channels) (state.channels.set(channel.key, channel), state.changedChannels.add(channel.key));
    for (const c of conversations) {
      const key = conversationKeyOf(c.uid, c.channelKey);
      state.conversations.set(key, c);
      state.changedConversations.add(key);
    }
    const changes = { ...encodeChanges(state, V + 100_000n), messages: messages.map((record) => ({ record, text: encodeMessage(record) })) };
    await inTransaction(pool, (client) =>
      repository.saveBatch(client, changes, { groupId: 'parity', topic: 't', partition: 0, nextOffset: '1' }, V + 100_000n, false, false),
    );
  });

  afterAll(async () => {
    await pool?.end();
    await env.tearDown();
  });

  // Callers ask above the floor (recentsAfterSeq), as every sync entry does.
  it('the recents query keeps exactly the messages isVisibleTo keeps', async () => {
    const requests = new Map(conversations.map((c) => [conversationKeyOf(c.uid, c.channelKey), { conversation: c, afterSeq: c.floor, uptoSeq: 100, count: 100 }]));
    const fromSql = await repository.readRecents(requests);
    const mismatches = conversations.flatMap((c) => {
      const lanes = lanesReadBy(c);
      const expected = messages
        .filter((m) => m.channelKey === c.channelKey && lanes.includes(m.lane) && isVisibleTo(c, m))
        .map((m) => m.seq)
        .sort((a, b) => b - a);
      const actual = fromSql.get(conversationKeyOf(c.uid, c.channelKey))!.map((m) => m.seq);
      return JSON.stringify(actual) === JSON.stringify(expected) ? [] : [{ uid: c.uid, channel: c.channelKey, expected, actual }];
    });
    expect(mismatches).toEqual([]);
    expect(conversations.length).toBeGreaterThan(250);
  });

  it('the SQL index entries (what rebuilds Redis) place every conversation where indexEntryOf does', async () => {
    const fromSql = new Map<string, unknown>();
    const client = await pool.connect();
    try {
      for await (const page of repository.allRecords(client, SMALL) as AsyncIterable<StoredRecords>) {
        for (const { record, entry } of page.conversations ?? []) fromSql.set(conversationKeyOf(record.uid, record.channelKey), entry);
      }
    } finally {
      client.release();
    }
    const byKey = new Map(channels.map((c) => [c.key, c]));
    const mismatches = conversations.flatMap((c) => {
      const expected = indexEntryOf(c, byKey.get(c.channelKey), SMALL);
      const actual = fromSql.get(conversationKeyOf(c.uid, c.channelKey));
      return JSON.stringify(actual, big) === JSON.stringify(expected, big) ? [] : [{ uid: c.uid, channel: c.channelKey, expected, actual }];
    });
    expect(mismatches).toEqual([]);
    expect(new Set([...fromSql.values()].map((e) => JSON.stringify(e, big))).size).toBeGreaterThan(10);
    expect([...fromSql.values()].filter((e) => (e as { kind: string }).kind === 'large').length).toBeGreaterThan(0);
  });

  it("migration 10's backfill of conversation_index writes what the batches write: every non-member's entry", async () => {
    const rows = async () => (await pool.query('SELECT uid, channel_key, version::text, ts::text FROM conversation_index ORDER BY uid, channel_key')).rows;
    const written = await rows();
    await pool.query(rebuildConversationIndexSql());
    expect(await rows()).toEqual(written);
    expect(written.length).toBe(conversations.filter((c) => c.membership !== 'member').length);
    expect(written.length).toBeGreaterThan(50);
  });
});

const big = (_key: string, value: unknown) => (typeof value === 'bigint' ? value.toString() : value);
