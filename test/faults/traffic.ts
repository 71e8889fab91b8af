import { mulberry32 } from '../../apps/cli/src/random';
import { channelKeyOf } from '../../libs/domain/src/channel-keys';
import { ImEvent } from '../../libs/domain/src/events';
import { decodeRecord } from '../../libs/ingest/src/event-decoder';
import { stringifyExact } from '../support/json';

/**
 * Seeded random IM traffic for the fault-injection suite: person pairs and
 * groups over a few hundred users, with duplicates, late seqs, no_persist
 * messages, reads, unread sets, deletes, joins, leaves and re-joins,
 * interleaved with poison records. The whole plan is generated up front from
 * the seed, so a run can be replayed; every record carries the key of its
 * channel, so Kafka keeps a channel's events in the order planned here.
 */


export interface PlannedRecord {
  key: string;
  value: string | Buffer;
  /** The validated event the consumer must apply, or null for a poison record (it must go to the dead-letter topic). */
  event: ImEvent | null;
}

export interface TrafficPlan {
  seed: number;
  users: string[];
  /** Users with the most channels: the ones whose simulated clients loop on incremental syncs. */
  busiestUsers: string[];
  channels: number;
  /** Batches to produce one after another, spread over time. */
  batches: PlannedRecord[][];
  /** Valid events in production order (each channel's events in its key's order): the reference model's input. */
  events: ImEvent[];
  poison: PlannedRecord[];
  counts: Record<string, number>;
}

export interface TrafficOptions {
  users: number;
  personChannels: number;
  groups: number;
  batches: number;
  /** Events per batch, on average (poison included). */
  eventsPerBatch: number;
  poisonRate: number;
  /** Share of events that go to a few hot channels (a pair and a group), so their windows outgrow RECENT_MESSAGES_KEPT. */
  hotShare?: number;
}

const PERSON = 1;

interface Channel {
  type: number;
  /** Group: the channel id. Person: unused (the id depends on who looks). */
  id: string;
  key: string;
  /** Person: the pair. Group: current members. */
  members: string[];
  /** Group: everyone who was a member once and left. */
  former: string[];
  seq: number;
  /** Seqs held back, sent later as late arrivals. */
  late: { seq: number; value: string }[];
  /** Persisted message values sent, by seq, for duplicates. */
  sent: { seq: number; value: string }[];
}

export function planTraffic(seed: number, options: TrafficOptions): TrafficPlan {
  const random = mulberry32(seed);
  const chance = (p: number) => random() < p;
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const counts: Record<string, number> = {};
  const count = (what: string) => (counts[what] = (counts[what] ?? 0) + 1);

  // Ids may hold any character: keep some with '@', ':', '|', '{', spaces and CJK, and a pair whose naive "a@b" join collides.
  const users = Array.from({ length: options.users }, (_, i) =>
    i % 17 === 3 ? `用户${i}` : i % 13 === 5 ? `u${i}@chat:x|y` : i % 11 === 7 ? `u ${i} {z}` : `u${i}`,
  );
  users.push('x@y', 'z', 'x', 'y@z');

  const channels: Channel[] = [];
  const pairs = new Set<string>();
  const addPair = (a: string, b: string) => {
    const key = channelKeyOf(PERSON, a, b);
    if (a === b || pairs.has(key)) return;
    pairs.add(key);
    channels.push({ type: PERSON, id: '', key, members: [a, b], former: [], seq: 0, late: [], sent: [] });
  };
  addPair('x@y', 'z');
  addPair('x', 'y@z');
  while (pairs.size < options.personChannels) addPair(pick(users), pick(users));
  const groups: Channel[] = [];
  for (let g = 0; g < options.groups; g++) {
    const type = g % 7 === 6 ? 5 : 2;
    const id = g % 5 === 4 ? `team:{g${g}}|群` : `g${g}`;
    const members = new Set<string>();
    const size = int(4, 28);
    while (members.size < size) members.add(pick(users));
    const channel: Channel = { type, id, key: channelKeyOf(type, '', id), members: [...members], former: [], seq: 0, late: [], sent: [] };
    groups.push(channel);
    channels.push(channel);
  }

  const batches: PlannedRecord[][] = [];
  const events: ImEvent[] = [];
  const poison: PlannedRecord[] = [];
  let messageId = 9_100_000_000_000_000_000n;
  let clock = 1_700_000_000;

  const valid = (channel: Channel, value: string): PlannedRecord => {
    const decoded = decodeRecord(Buffer.from(value));
    if (!decoded.ok) throw new Error(`traffic generator bug: a valid event was rejected (${decoded.reason}): ${value}`);
    events.push(decoded.event);
    return { key: channel.key, value, event: decoded.event };
  };

  const seenBy = (channel: Channel, uid: string) => (channel.type === PERSON ? channel.members.find((m) => m !== uid) ?? uid : channel.id);

  const messageValue = (channel: Channel, from: string, seq: number, extra: Record<string, unknown> = {}): string => {
    messageId += BigInt(int(1, 1000));
    const id = chance(0.5) ? messageId : messageId.toString();
    return stringifyExact({
      type: 'message',
      message_id: id,
      message_seq: seq,
      client_msg_no: `c${seq}-${int(0, 1e6).toString(36)}`,
      from_uid: from,
      channel_id: seenBy(channel, from),
      channel_type: channel.type,
      timestamp: clock + int(0, 3),
      payload: Buffer.from(`hi ${seq} from ${from}`).toString('base64'),
      ...(chance(0.3) ? { header: { no_persist: 0, red_dot: int(0, 1), sync_once: 0 } } : {}),
      ...(chance(0.1) ? { setting: int(0, 255), expire: int(0, 86400), topic: `t${int(0, 9)}` } : {}),
      ...extra,
    });
  };

  /** A new message in the channel; sometimes a seq is held back and sent later (a late arrival). */
  const message = (channel: Channel, from: string, extra: Record<string, unknown> = {}): PlannedRecord[] => {
    const out: PlannedRecord[] = [];
    if (chance(0.08)) {
      const seq = ++channel.seq;
      channel.late.push({ seq, value: messageValue(channel, from, seq, extra) });
      count('late');
    }
    const seq = ++channel.seq;
    const value = messageValue(channel, from, seq, extra);
    channel.sent.push({ seq, value });
    out.push(valid(channel, value));
    count('message');
    return out;
  };

  const groupMember = (channel: Channel) => pick(channel.members);

  /** One channel's next event(s). */
  const next = (channel: Channel): PlannedRecord[] => {
    const roll = random();
    if (channel.late.length > 0 && chance(0.25)) {
      const late = channel.late.splice(int(0, channel.late.length - 1), 1)[0];
      channel.sent.push(late);
      count('late sent');
      return [valid(channel, late.value)];
    }
    if (channel.sent.length > 0 && chance(0.05)) {
      // A duplicate seq: re-sent unchanged, or with other content (the first one wins).
      const earlier = pick(channel.sent);
      count('duplicate');
      if (chance(0.5)) return [valid(channel, earlier.value)];
      return [valid(channel, messageValue(channel, channel.type === PERSON ? pick(channel.members) : groupMember(channel), earlier.seq))];
    }
    if (chance(0.05)) {
      // no_persist / sync_once: takes a seq, changes no conversation.
      const seq = ++channel.seq;
      count('no_persist');
      const header = chance(0.7) ? { no_persist: 1, red_dot: 0, sync_once: 0 } : { no_persist: 0, red_dot: 1, sync_once: 1 };
      return [valid(channel, messageValue(channel, pick(channel.members), seq, { header }))];
    }
    const anyone = () => (channel.type === PERSON || channel.former.length === 0 || chance(0.9) ? pick(channel.members) : pick(channel.former));
    const target = (uid: string) => ({ uid, channel_id: seenBy(channel, uid), channel_type: channel.type });
    if (channel.type === PERSON) {
      if (roll < 0.6 || channel.seq === 0) return message(channel, pick(channel.members));
    } else {
      if (roll < 0.5 || channel.seq === 0) {
        if (chance(0.06)) {
          // Explicit recipients: some members, maybe an outsider.
          const subscribers = channel.members.filter(() => chance(0.6));
          if (chance(0.3)) subscribers.push(pick(users));
          count('explicit subscribers');
          return message(channel, anyone(), { subscribers: subscribers.length > 0 ? subscribers : [pick(channel.members)] });
        }
        return message(channel, anyone());
      }
      if (roll > 0.84) {
        // Membership: leave, join, re-join, or a no-op join of a current member.
        if (chance(0.45) && channel.members.length > 3) {
          const uid = channel.members.splice(int(0, channel.members.length - 1), 1)[0];
          channel.former.push(uid);
          count('leave');
          return [valid(channel, JSON.stringify({ type: 'subscribers_removed', channel_id: channel.id, channel_type: channel.type, subscribers: [uid] }))];
        }
        let uid: string;
        if (chance(0.1)) {
          uid = groupMember(channel);
          count('join again (no-op)');
        } else if (channel.former.length > 0 && chance(0.5)) {
          uid = channel.former.splice(int(0, channel.former.length - 1), 1)[0];
          channel.members.push(uid);
          count('re-join');
        } else {
          uid = pick(users);
          if (channel.members.includes(uid)) return [];
          channel.former = channel.former.filter((f) => f !== uid);
          channel.members.push(uid);
          count('join');
        }
        return [valid(channel, JSON.stringify({ type: 'subscribers_added', channel_id: channel.id, channel_type: channel.type, subscribers: [uid] }))];
      }
    }
    const uid = anyone();
    const kind = random();
    if (kind < 0.5) {
      const readTo = chance(0.5) ? { read_to_seq: int(0, channel.seq + 2) } : {};
      count(`read${'read_to_seq' in readTo ? ' to seq' : ''}`);
      return [valid(channel, JSON.stringify({ type: 'conversation_read', ...target(uid), ...readTo }))];
    }
    if (kind < 0.8) {
      count('unread set');
      return [valid(channel, JSON.stringify({ type: 'conversation_unread_set', ...target(uid), unread: int(0, 5) }))];
    }
    count('delete');
    return [valid(channel, JSON.stringify({ type: 'conversation_deleted', ...target(uid) }))];
  };

  let poisonNumber = 0;
  const poisonRecord = (channel: Channel): PlannedRecord => {
    const n = ++poisonNumber;
    const uid = pick(channel.members);
    const base = { uid, channel_id: seenBy(channel, uid), channel_type: channel.type };
    const variants: [string, () => string | Buffer][] = [
      ['not JSON', () => `{"type":"message","message_seq":${n},`],
      ['not JSON', () => `poison #${n}`],
      ['not UTF-8', () => Buffer.from([0xff, 0xfe, 0x7b, n & 0xff, (n >> 8) & 0xff])],
      ['not an object', () => `[${n},"conversation_read"]`],
      ['unknown type', () => JSON.stringify({ type: 'typing', poison: n, ...base })],
      ['missing field', () => JSON.stringify({ type: 'conversation_read', channel_id: base.channel_id, channel_type: channel.type, poison: n })],
      ['missing field', () => messageValue(channel, uid, channel.seq + 1000 + n).replace(/"from_uid":"(?:[^"\\]|\\.)*",/, '')],
      ['wrong type', () => messageValue(channel, uid, channel.seq + 1000 + n).replace(/"message_seq":\d+/, `"message_seq":"${n}"`)],
      ['wrong type', () => JSON.stringify({ type: 'conversation_unread_set', ...base, unread: -n })],
      ['wrong type', () => JSON.stringify({ type: 'conversation_deleted', ...base, channel_type: 0, poison: n })],
      ['wrong type', () => messageValue(channel, uid, channel.seq + 1000 + n, { payload: `not base64 #${n}` })],
      ['wrong type', () => JSON.stringify({ type: 'subscribers_added', channel_id: `g-poison-${n}`, channel_type: 2, subscribers: 'u1' })],
    ];
    const [kind, make] = pick(variants);
    const value = make();
    const decoded = decodeRecord(Buffer.isBuffer(value) ? value : Buffer.from(value));
    if (decoded.ok) throw new Error(`traffic generator bug: poison (${kind}) was accepted: ${String(value)}`);
    count(`poison: ${kind}`);
    const record = { key: channel.key, value, event: null };
    poison.push(record);
    return record;
  };

  // Groups are created first, with their initial members.
  for (let i = 0; i < groups.length; i += 10) {
    batches.push(
      groups
        .slice(i, i + 10)
        .map((g) => valid(g, JSON.stringify({ type: 'subscribers_added', channel_id: g.id, channel_type: g.type, subscribers: g.members }))),
    );
  }
  const hot = [channels[0], groups[0]];
  const pickChannel = () => (options.hotShare && chance(options.hotShare) ? pick(hot) : pick(channels));
  for (let b = 0; b < options.batches; b++) {
    clock += int(1, 4);
    const batch: PlannedRecord[] = [];
    const last = b === options.batches - 1;
    const size = options.eventsPerBatch + int(-3, 3);
    while (batch.length < size) {
      const channel = pickChannel();
      if (chance(options.poisonRate)) batch.push(poisonRecord(channel));
      else batch.push(...next(channel));
    }
    if (last) {
      // Whatever is still held back arrives at the end.
      for (const channel of channels) for (const late of channel.late.splice(0)) batch.push(valid(channel, late.value));
    }
    batches.push(batch);
  }

  const channelCount = new Map<string, number>();
  for (const channel of channels) for (const uid of [...channel.members, ...channel.former]) channelCount.set(uid, (channelCount.get(uid) ?? 0) + 1);
  const busiestUsers = [...channelCount.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([uid]) => uid);
  return { seed, users, busiestUsers, channels: channels.length, batches, events, poison, counts };
}
