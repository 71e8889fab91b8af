import { Producer } from 'kafkajs';
import { RunningService } from './support/app-process';
import { parseExactJson, stringifyExact } from './support/json';
import { PERSON } from './support/events';
import { TestEnvironment } from './support/test-environment';
import { waitFor } from './support/wait-for';
import { ComparableSummary, conversationKey, summaries } from './faults/sync-clients';
import { PlannedRecord, planTraffic } from './faults/traffic';

/**
 * Clients that consume /conversation/sync the way WuKongIM's real clients do
 * (docs/sync-contract.md, "WuKongIM clients"), looping while two producers
 * write seeded traffic (reads, unread sets, deletes, re-joins, late and
 * duplicate messages, messages without client_msg_no). At the end each
 * client's view must equal a fresh full sync, except what the client by
 * design cannot learn: none of them asks for include_deleted, so a
 * conversation deleted (or hidden by a re-join) after the client last had it
 * stays in its view. The test names those: each must be a deletion the API
 * reports to a client that does ask (include_deleted: 1).
 */
describe('WuKongIM clients as they are (e2e)', () => {
  const env = new TestEnvironment('wukongim-clients');
  let service: RunningService;

  beforeAll(async () => {
    await env.setUp();
    service = await RunningService.start(env);
  });

  afterAll(async () => {
    await service?.stop();
    await env.tearDown();
  });

  const plan = planTraffic(20261126, { users: 60, personChannels: 40, groups: 12, batches: 120, eventsPerBatch: 8, poisonRate: 0 });
  const batches = plan.batches.map((batch) => batch.map(withoutSomeClientMsgNos));
  const USERS = plan.busiestUsers.slice(0, 3);

  const post = async (path: string, body: string): Promise<string> => {
    const response = await fetch(`${service.api.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`${path} answered ${response.status}: ${text}`);
    return text;
  };

  it('each client ends with the full sync, except the deletions it cannot learn without include_deleted', async () => {
    const clients = USERS.flatMap((uid) => [new JavaScriptClient(uid, post), new NativeSdkClient(uid, post), new TangSengDaoDaoClient(uid, post)]);
    for (const client of clients) await client.syncOnce();

    let producing = true;
    const loops = clients.map(async (client) => {
      while (producing) await client.syncOnce();
    });
    try {
      await produceConcurrently(batches);
      await env.waitUntilApplied(60_000);
      await readThenDeleteWhileHeld(clients);
    } finally {
      producing = false;
      await Promise.all(loops);
    }
    await env.waitUntilApplied(60_000);

    let deletionsNamed = 0;
    for (const client of clients) {
      await client.syncOnce();
      const full = summaries(await service.sync({ uid: client.uid }));
      const view = client.view();
      const fullKeys = new Set(full.map(conversationKey));
      const cannotLearn = view.filter((c) => !fullKeys.has(conversationKey(c)));
      // Every conversation hidden since the start (1024: the first version step; 0 would be a full sync).
      const tombstones = await service.sync({ uid: client.uid, version: '1024', include_deleted: 1 });
      const reportedDeleted = new Set(tombstones.filter((c) => c.deleted === 1).map(conversationKey));
      expect({ client: client.name, uid: client.uid, cannotLearnAreDeletions: cannotLearn.filter((c) => !reportedDeleted.has(conversationKey(c))) }).toEqual({
        client: client.name,
        uid: client.uid,
        cannotLearnAreDeletions: [],
      });
      deletionsNamed += cannotLearn.length;
      expect({ client: client.name, uid: client.uid, view: view.filter((c) => fullKeys.has(conversationKey(c))) }).toEqual({ client: client.name, uid: client.uid, view: full });
      expect(client.problems).toEqual([]);
      // How many incremental answers the free-running loops got during the traffic depends on the
      // machine's speed; the fixed ending guarantees two per client (the new friend's message, then
      // the read), each awaited before the next event is produced.
      expect(client.nonEmptyIncrementalAnswers).toBeGreaterThanOrEqual(2);
    }
    // The run really had deletions the clients could not learn, and readers who learned of reads.
    expect(deletionsNamed).toBeGreaterThan(0);
    expect(clients.filter((c) => c instanceof NativeSdkClient).reduce((n, c) => n + (c as NativeSdkClient).changesWithoutNewMessages, 0)).toBeGreaterThan(0);
  });

  it('/conversation/channels, /syncByChannels and /syncMessages agree with the full sync', async () => {
    for (const uid of USERS) {
      const full = parseExactJson(await post('/conversation/sync', JSON.stringify({ uid, msg_count: 15 }))) as any[];
      const channels = parseExactJson(await post('/conversation/channels', JSON.stringify({ uid }))) as any[];
      expect(channels).toEqual(full.map(({ channel_id, channel_type }) => ({ channel_id, channel_type })));

      const stranger = { channel_id: 'nobody-has-this', channel_type: 2 };
      const requested = [...channels].reverse();
      const byChannels = parseExactJson(await post('/conversation/syncByChannels', JSON.stringify({ uid, channels: [stranger, ...requested] }))) as any[];
      const fullByKey = new Map(full.map((c) => [conversationKey(c), c]));
      expect(byChannels).toEqual(requested.map((c) => fullByKey.get(conversationKey(c))));

      const newest = parseExactJson(
        await post('/conversation/syncMessages', JSON.stringify({ uid, channels: [...channels, stranger], order_by_last: 1 })),
      ) as any[];
      expect(newest.map((entry) => [entry.channel_id, entry.messages])).toEqual([
        ...full.map((c) => [c.channel_id, c.recents]),
        [stranger.channel_id, []],
      ]);
      const from = channels.map((c) => ({ ...c, last_msg_seq: fullByKey.get(conversationKey(c)).last_msg_seq }));
      const oldestFirst = parseExactJson(await post('/conversation/syncMessages', JSON.stringify({ uid, channels: from, msg_count: 50 }))) as any[];
      for (const [i, entry] of oldestFirst.entries()) {
        // From last_msg_seq on, inclusive: exactly the latest message.
        expect({ channel: entry.channel_id, seqs: entry.messages.map((m: any) => m.message_seq) }).toEqual({ channel: entry.channel_id, seqs: [from[i].last_msg_seq] });
      }
    }
  });

  /**
   * Last, each user gets a message from a new friend; once every client holds
   * that conversation, the user reads it on another device (no new message:
   * only the read position changes) and then deletes it.
   */
  async function readThenDeleteWhileHeld(clients: WuKongImClient[]): Promise<void> {
    await Promise.all(
      USERS.map(async (uid, i) => {
        const friend = `wk-friend-${i}`;
        await env.produceAndWait({ type: 'message', message_id: 77_000 + i, message_seq: 1, from_uid: friend, channel_id: uid, channel_type: PERSON, timestamp: 1_800_000_000, payload: '' });
        const mine = clients.filter((client) => client.uid === uid);
        await waitFor(`${uid}'s clients to hold ${friend}`, () => mine.every((client) => client.holds(friend, PERSON)));
        await env.produceAndWait({ type: 'conversation_read', uid, channel_id: friend, channel_type: PERSON });
        await waitFor(`${uid}'s clients to see ${friend} read`, () => mine.every((client) => client.holds(friend, PERSON, { unread: 0 })));
        await env.produceAndWait({ type: 'conversation_deleted', uid, channel_id: friend, channel_type: PERSON });
      }),
    );
  }

  /** Two producers, each owning the channels whose key lands on it, so each channel's events keep their order. */
  async function produceConcurrently(batches: PlannedRecord[][]): Promise<void> {
    const producers: Producer[] = [env.kafka.producer({ allowAutoTopicCreation: false }), env.kafka.producer({ allowAutoTopicCreation: false })];
    await Promise.all(producers.map((p) => p.connect()));
    const owner = (key: string) => [...key].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) % 2, 0);
    try {
      await Promise.all(
        producers.map(async (producer, index) => {
          for (const batch of batches) {
            const mine = batch.filter((record) => owner(record.key) === index);
            if (mine.length > 0) await producer.send({ topic: env.topic, acks: -1, messages: mine.map(({ key, value }) => ({ key, value })) });
          }
        }),
      );
    } finally {
      await Promise.all(producers.map((p) => p.disconnect()));
    }
  }
});

type Post = (path: string, body: string) => Promise<string>;

/** What all three have in common: a map of conversations replaced by channel, and checks every answer must pass for that client. */
abstract class WuKongImClient {
  abstract readonly name: string;
  protected readonly conversations = new Map<string, any>();
  nonEmptyIncrementalAnswers = 0;
  readonly problems: string[] = [];

  constructor(
    readonly uid: string,
    protected readonly post: Post,
  ) {}

  abstract syncOnce(): Promise<void>;

  /** Every field each client reads must be there: none of them reads `deleted`. */
  protected check(entry: any): void {
    const missing = ['channel_id', 'channel_type', 'unread', 'timestamp', 'last_msg_seq', 'last_client_msg_no', 'readed_to_msg_seq', 'version'].filter((f) => entry[f] === undefined);
    if (missing.length > 0 || !Array.isArray(entry.recents)) this.problems.push(`${this.name}: entry without ${missing.join(', ') || 'recents'}: ${JSON.stringify(entry, jsonSafe)}`);
    if (entry.deleted !== undefined) this.problems.push(`${this.name}: a deleted entry it never asked for`);
    if (entry.last_client_msg_no === '') this.problems.push(`${this.name}: empty last_client_msg_no`);
    for (const message of entry.recents ?? []) if (message.client_msg_no === '') this.problems.push(`${this.name}: empty client_msg_no in recents`);
  }

  view(): ComparableSummary[] {
    return summaries([...this.conversations.values()]);
  }

  holds(channelId: string, channelType: number, fields: Record<string, unknown> = {}): boolean {
    const held = this.conversations.get(conversationKey({ channel_id: channelId, channel_type: channelType }));
    return held !== undefined && Object.entries(fields).every(([name, value]) => held[name] === value);
  }
}

/** wukongimjssdk's apps: plain JSON.parse, the highest version kept as a JS number and sent back through JSON.stringify. */
class JavaScriptClient extends WuKongImClient {
  readonly name = 'JavaScript (JSON.parse)';
  private highest = 0;

  async syncOnce(): Promise<void> {
    const asked = this.highest;
    const answer = JSON.parse(await this.post('/conversation/sync', JSON.stringify({ uid: this.uid, version: asked, msg_count: 2 }))) as any[];
    if (asked > 0 && answer.length > 0) this.nonEmptyIncrementalAnswers++;
    for (const entry of answer) {
      this.check(entry);
      if (!Number.isSafeInteger(entry.version / 1024)) this.problems.push(`${this.name}: version ${entry.version} is not a multiple of 1024 as a double`);
      if (entry.version > this.highest) this.highest = entry.version;
      // The double holds the exact version (a multiple of 1024): compare it exactly.
      this.conversations.set(conversationKey(entry), { ...entry, version: BigInt(entry.version) });
    }
  }
}

/**
 * The Android and iOS SDKs: int64 versions, and last_msg_seqs listing every
 * conversation held at its last seq (channel types in a signed byte), plus the highest version.
 */
class NativeSdkClient extends WuKongImClient {
  readonly name = 'native SDK (last_msg_seqs of everything held)';
  private highest = 0n;
  /** Entries that came back with no new message for the client: a read or unread count changed elsewhere. */
  changesWithoutNewMessages = 0;

  async syncOnce(): Promise<void> {
    const asked = this.highest;
    const signedByte = (type: number) => (type > 127 ? type - 256 : type);
    const lastMsgSeqs = [...this.conversations.values()].map((c) => `${c.channel_id}:${signedByte(c.channel_type)}:${c.last_msg_seq}`).join('|');
    const body = { uid: this.uid, version: asked.toString(), last_msg_seqs: lastMsgSeqs, msg_count: 2 };
    const answer = parseExactJson(await this.post('/conversation/sync', JSON.stringify(body))) as any[];
    if (asked > 0n && answer.length > 0) this.nonEmptyIncrementalAnswers++;
    for (const entry of answer) {
      this.check(entry);
      const held = this.conversations.get(conversationKey(entry));
      if (held && entry.recents?.length === 0) this.changesWithoutNewMessages++;
      if (entry.version > this.highest) this.highest = entry.version;
      this.conversations.set(conversationKey(entry), entry);
    }
  }
}

/** TangSengDaoDao's server and apps: int64 versions, entries without recents dropped, seqs as uint32 and timestamps as int32. */
class TangSengDaoDaoClient extends WuKongImClient {
  readonly name = 'TangSengDaoDao';
  private highest = 0n;

  async syncOnce(): Promise<void> {
    const asked = this.highest;
    const answer = parseExactJson(await this.post('/conversation/sync', JSON.stringify({ uid: this.uid, version: asked.toString(), msg_count: 2 }))) as any[];
    if (asked > 0n && answer.length > 0) this.nonEmptyIncrementalAnswers++;
    for (const entry of answer) {
      this.check(entry);
      if (entry.version > this.highest) this.highest = entry.version;
      if (!Array.isArray(entry.recents) || entry.recents.length === 0) continue;
      const narrowed = { ...entry, last_msg_seq: entry.last_msg_seq >>> 0, readed_to_msg_seq: entry.readed_to_msg_seq >>> 0, timestamp: entry.timestamp | 0 };
      if (narrowed.last_msg_seq !== entry.last_msg_seq || narrowed.timestamp !== entry.timestamp) this.problems.push(`${this.name}: a value beyond its range: ${JSON.stringify(entry, jsonSafe)}`);
      this.conversations.set(conversationKey(entry), narrowed);
    }
  }
}

/** Every fourth message (by seq, so a duplicate stays a duplicate) has no client_msg_no: the answer must still carry one. */
function withoutSomeClientMsgNos(record: PlannedRecord): PlannedRecord {
  const event = parseExactJson(record.value.toString()) as Record<string, unknown>;
  if (event.type !== 'message' || (event.message_seq as number) % 4 !== 0) return record;
  delete event.client_msg_no;
  return { ...record, value: stringifyExact(event) };
}

function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
