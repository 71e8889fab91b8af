import { Producer } from 'kafkajs';
import { channelKeyOf } from '@cs/domain';
import { mulberry32 } from '../apps/cli/src/random';
import { AppProcess, RunningService } from './support/app-process';
import { parseExactJson } from './support/json';
import { TestEnvironment } from './support/test-environment';

/**
 * The sync cursor under load: several producers write concurrently to many
 * channels over all partitions while clients loop on incremental syncs with
 * the highest version they have seen. At the end each client's merged view
 * must equal a fresh full sync: no change missed, no version going backwards.
 */
describe('concurrent incremental sync (e2e)', () => {
  const env = new TestEnvironment('concurrent-sync');
  let service: RunningService;
  /** A second consumer in the same group and a second API: versions must hold across instances. */
  let secondConsumer: AppProcess;
  let secondApi: AppProcess;

  beforeAll(async () => {
    await env.setUp();
    service = await RunningService.start(env);
    [secondConsumer, secondApi] = await Promise.all([AppProcess.start('consumer', env.appEnv()), AppProcess.start('api', env.appEnv())]);
  });

  afterAll(async () => {
    await Promise.all([service?.stop(), secondConsumer?.stop(), secondApi?.stop()]);
    await env.tearDown();
  });

  /** Syncs through either API instance, alternately, as a load balancer would. */
  let turn = 0;
  async function syncAnywhere(body: Record<string, unknown>): Promise<any[]> {
    if (turn++ % 2 === 0) return service.sync(body);
    const response = await fetch(`${secondApi.url}/conversation/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`sync answered ${response.status}: ${text}`);
    return parseExactJson(text) as any[];
  }

  const USERS = ['cc-u1', 'cc-u2', 'cc-u3'];
  const PRODUCERS = 4;
  const ROUNDS = 250;

  it('a client merging incremental syncs ends with exactly the full sync, for every user', async () => {
    const channels = makeChannels();
    const owned = Array.from({ length: PRODUCERS }, (_, p) => channels.filter((_, i) => i % PRODUCERS === p));
    const producers = await Promise.all(
      owned.map(async () => {
        const producer = env.kafka.producer({ allowAutoTopicCreation: false });
        await producer.connect();
        return producer;
      }),
    );
    const clients = USERS.map((uid) => new SyncingClient(uid, syncAnywhere));
    let producing = true;

    try {
      const loops = clients.map(async (client) => {
        while (producing) await client.syncIncrementally();
      });
      await Promise.all(producers.map((producer, p) => produceRounds(producer, owned[p], p + 1)));
      producing = false;
      await Promise.all(loops);
    } finally {
      producing = false;
      await Promise.all(producers.map((producer) => producer.disconnect()));
    }
    await env.waitUntilApplied();

    for (const client of clients) {
      await client.syncIncrementally();
      const full = comparable(await service.sync({ uid: client.uid }));
      // On a mismatch, what this client was told of those conversations, and what the consumers logged.
      const differing = differingKeys(client.view(), full);
      const diagnosis =
        differing.length === 0 ? undefined : { told: client.answersAbout(differing), consumerLogs: [service.consumer, secondConsumer].map((c) => c.logs.split('\n').slice(-20)) };
      expect({ uid: client.uid, view: client.view(), diagnosis }).toEqual({ uid: client.uid, view: full, diagnosis: undefined });
      // The run really exercised the cursor: many answers, most of them incremental and non-empty.
      expect(full.length).toBeGreaterThanOrEqual(5);
      expect(client.nonEmptyIncrementalAnswers).toBeGreaterThan(5);
      expect(client.tombstonesSeen).toBeGreaterThan(0);
    }
  });

  /** Sends ROUNDS batches, each touching a few of this producer's channels, in channel order per key. */
  async function produceRounds(producer: Producer, channels: Channel[], seed: number): Promise<void> {
    const random = mulberry32(seed);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
    for (const channel of channels) {
      if (channel.type !== PERSON) {
        await send(producer, channel, [{ type: 'subscribers_added', channel_id: channel.id, channel_type: channel.type, subscribers: [...channel.members] }]);
      }
    }
    for (let round = 0; round < ROUNDS; round++) {
      const messages = [];
      for (let n = 0; n < 3; n++) {
        const channel = pick(channels);
        const events = nextEvents(channel, random, pick);
        messages.push(...events.map((event) => ({ key: channel.recordKey, value: JSON.stringify(event) })));
      }
      await producer.send({ topic: env.topic, acks: -1, messages });
    }
    // Last, every person channel between two of the users gets a message and is deleted by both:
    // each client must learn about those deletions through its incremental syncs.
    for (const channel of channels.filter((c) => c.type === PERSON && [...c.members].every((uid) => USERS.includes(uid)))) {
      const [a, b] = [...channel.members];
      channel.seq++;
      await send(producer, channel, [
        { type: 'message', message_id: channel.seq, message_seq: channel.seq, from_uid: a, channel_id: b, channel_type: PERSON, timestamp: 1_700_000_100, payload: '' },
        { type: 'conversation_deleted', uid: a, channel_id: b, channel_type: PERSON },
        { type: 'conversation_deleted', uid: b, channel_id: a, channel_type: PERSON },
      ]);
    }
  }

  async function send(producer: Producer, channel: Channel, events: object[]): Promise<void> {
    await producer.send({ topic: env.topic, acks: -1, messages: events.map((event) => ({ key: channel.recordKey, value: JSON.stringify(event) })) });
  }
});

const PERSON = 1;
const GROUP = 2;

interface Channel {
  id: string;
  type: number;
  key: string;
  /** The Kafka record key: the channel, as the event contract asks (so batches load before they lock their partition). */
  recordKey: string;
  /** Person channel: the two uids. Group: current members. */
  members: Set<string>;
  seq: number;
}

/** Groups with all or some of the users, channels with explicit subscribers, and person channels between them and with others. */
function makeChannels(): Channel[] {
  const [u1, u2, u3] = ['cc-u1', 'cc-u2', 'cc-u3'];
  const channels: Channel[] = [];
  const group = (id: string, type: number, members: string[]) =>
    channels.push({ id, type, key: `${type}:${id}`, recordKey: channelKeyOf(type, '', id), members: new Set(members), seq: 0 });
  const person = (a: string, b: string) =>
    channels.push({ id: b, type: PERSON, key: JSON.stringify([a, b].sort()), recordKey: channelKeyOf(PERSON, a, b), members: new Set([a, b]), seq: 0 });
  for (let i = 0; i < 8; i++) group(`cc:g${i}`, GROUP, i % 3 === 0 ? [u1, u2, u3, `cc-x${i}`] : i % 3 === 1 ? [u1, u2, `cc-x${i}`] : [u2, u3, `cc-x${i}`]);
  for (let i = 0; i < 2; i++) group(`cc:s${i}`, 3, [u1, u2, u3, 'cc-x9']);
  person(u1, u2);
  person(u1, u3);
  person(u2, u3);
  for (let i = 0; i < 3; i++) for (const user of [u1, u2, u3]) person(`cc-p${i}`, user);
  return channels;
}

/** One channel's next event(s): mostly messages, then reads, unread sets, deletes and membership changes. */
function nextEvents(channel: Channel, random: () => number, pick: <T>(items: readonly T[]) => T): object[] {
  const users = [...channel.members];
  const roll = random();
  const target = { uid: pick(users), channel_type: channel.type };
  const seenBy = (uid: string) => (channel.type === PERSON ? users.find((other) => other !== uid)! : channel.id);
  if (roll < 0.6 || channel.seq === 0) {
    channel.seq++;
    const from = pick(users);
    const explicit = channel.type === 3 ? { subscribers: users.filter(() => random() < 0.7) } : {};
    return [
      {
        type: 'message',
        message_id: (9_007_199_254_740_993n + BigInt(channel.seq)).toString(),
        message_seq: channel.seq,
        client_msg_no: `${channel.key}-${channel.seq}`,
        from_uid: from,
        channel_id: channel.type === PERSON ? users.find((other) => other !== from)! : channel.id,
        channel_type: channel.type,
        timestamp: 1_700_000_000 + Math.floor(random() * 50),
        payload: 'aGk=',
        ...explicit,
      },
    ];
  }
  if (roll < 0.75) {
    const readToSeq = random() < 0.5 ? { read_to_seq: Math.max(1, channel.seq - Math.floor(random() * 3)) } : {};
    return [{ type: 'conversation_read', ...target, channel_id: seenBy(target.uid), ...readToSeq }];
  }
  if (roll < 0.85) return [{ type: 'conversation_unread_set', ...target, channel_id: seenBy(target.uid), unread: Math.floor(random() * 4) }];
  if (roll < 0.94 || channel.type !== GROUP) return [{ type: 'conversation_deleted', ...target, channel_id: seenBy(target.uid) }];
  // A group member leaves and comes back later (rejoining raises the floor).
  const uid = pick(['cc-u1', 'cc-u2', 'cc-u3']);
  const joining = !channel.members.has(uid);
  if (joining) channel.members.add(uid);
  else if (channel.members.size > 1) channel.members.delete(uid);
  else return [];
  return [{ type: joining ? 'subscribers_added' : 'subscribers_removed', channel_id: channel.id, channel_type: channel.type, subscribers: [uid] }];
}

/**
 * A client as the contract expects: asks with the highest version seen and
 * merges the answers (a conversation may come again, never with a lower version).
 */
class SyncingClient {
  private readonly conversations = new Map<string, any>();
  private highest = 0n;
  nonEmptyIncrementalAnswers = 0;
  tombstonesSeen = 0;
  /** Per answer: the version asked with and each entry as [key, version, last_msg_seq, deleted]. */
  private readonly answers: { asked: string; entries: [string, string, number | undefined, number | undefined][] }[] = [];

  constructor(
    readonly uid: string,
    private readonly sync: (body: Record<string, unknown>) => Promise<any[]>,
  ) {}

  async syncIncrementally(): Promise<void> {
    const asked = this.highest;
    // include_deleted: this client merges deletions, so its view must equal the full sync, deletions included.
    const answer = await this.sync({ uid: this.uid, version: asked.toString(), include_deleted: 1 });
    if (asked > 0n && answer.length > 0) this.nonEmptyIncrementalAnswers++;
    this.answers.push({ asked: asked.toString(), entries: answer.map((e) => [keyOf(e), String(e.version), e.last_msg_seq, e.deleted]) });
    for (const entry of answer) {
      const key = keyOf(entry);
      // Every entry changed after the cursor: its version is above it, or at it when clamped to a W
      // that has not moved since (it comes again); no conversation's version goes backwards.
      expect({ key, notBelowAsked: entry.version >= asked }).toEqual({ key, notBelowAsked: true });
      const known = this.conversations.get(key);
      if (known) expect({ key, forwards: entry.version >= known.version }).toEqual({ key, forwards: true });
      if (entry.version > this.highest) this.highest = entry.version;
      if (entry.deleted === 1) this.tombstonesSeen++;
      // A tombstone is kept for the "never backwards" check; view() drops it.
      this.conversations.set(key, entry);
    }
  }

  view() {
    return comparable([...this.conversations.values()].filter((c) => c.deleted !== 1));
  }

  /** The answers that held any of `keys`, with only those entries. */
  answersAbout(keys: string[]) {
    return this.answers
      .map(({ asked, entries }) => ({ asked, entries: entries.filter(([key]) => keys.includes(key)) }))
      .filter(({ entries }) => entries.length > 0);
  }
}

function keyOf(entry: { channel_type: number; channel_id: string }): string {
  return `${entry.channel_type} ${entry.channel_id}`;
}

/** The conversations whose entries differ between two comparable views. */
function differingKeys(a: ReturnType<typeof comparable>, b: ReturnType<typeof comparable>): string[] {
  const texts = (view: ReturnType<typeof comparable>) => new Map(view.map((c) => [keyOf(c), JSON.stringify(c)]));
  const [left, right] = [texts(a), texts(b)];
  return [...new Set([...left.keys(), ...right.keys()])].filter((key) => left.get(key) !== right.get(key));
}

function comparable(conversations: any[]) {
  return conversations
    .map(({ channel_id, channel_type, unread, last_msg_seq, version, readed_to_msg_seq, timestamp, last_client_msg_no }) => ({
      channel_id,
      channel_type,
      unread,
      last_msg_seq,
      // As text: jest's workers cannot send a BigInt, so a mismatch would be reported without its diff.
      version: String(version),
      readed_to_msg_seq,
      timestamp,
      last_client_msg_no,
    }))
    .sort((a, b) => (`${a.channel_type} ${a.channel_id}` < `${b.channel_type} ${b.channel_id}` ? -1 : 1));
}

