import { mulberry32 } from './random';
import { EventRecord, conversationReadRecord, messageRecord, subscribersAddedRecord } from '@cs/events';

export interface TrafficPlan {
  /** Events in all, membership and reads included. */
  events: number;
  users: number;
  groups: number;
  seed: number;
}

/**
 * Realistic IM traffic, the same for the same plan: 70% of messages in person
 * chats and 30% in groups of 5–20 members (each group's subscribers_added comes
 * before its first message), and about one event in ten a read by a recipient.
 * Names carry the seed, so plans with different seeds never share a channel.
 */
export function* generateTraffic({ events, users, groups, seed }: TrafficPlan): Generator<EventRecord> {
  const random = mulberry32(seed);
  const pick = (n: number) => Math.floor(random() * n);
  const uid = (i: number) => `s${seed}-user-${String(i + 1).padStart(4, '0')}`;
  const groupId = (i: number) => `s${seed}-group-${String(i + 1).padStart(3, '0')}`;
  const members = new Map<number, string[]>();
  const seqs = new Map<string, number>();
  const deliveries: { uid: string; channel_id: string; channel_type: number; seq: number }[] = [];
  let emitted = 0;
  let messageNo = 0;

  const nextSeq = (key: string) => {
    const seq = (seqs.get(key) ?? 0) + 1;
    seqs.set(key, seq);
    return seq;
  };
  const message = (from: string, channelId: string, channelType: number, seq: number) => {
    const no = messageNo++;
    return messageRecord({
      message_id: MESSAGE_ID_BASE + BigInt(seed) * 1_000_000_000n + BigInt(no),
      message_seq: seq,
      client_msg_no: `gen-${seed}-${no}`,
      from_uid: from,
      channel_id: channelId,
      channel_type: channelType,
      timestamp: FIRST_TIMESTAMP + no,
      payload: Buffer.from(`message ${no} from ${from}`),
    });
  };
  const delivered = (delivery: (typeof deliveries)[number]) => {
    deliveries.push(delivery);
    if (deliveries.length > 100) deliveries.shift();
  };

  while (emitted < events) {
    if (deliveries.length > 0 && random() < READ_SHARE) {
      const { seq, ...conversation } = deliveries[pick(deliveries.length)];
      yield conversationReadRecord({ ...conversation, ...(random() < 0.5 ? { read_to_seq: seq } : {}) });
      emitted++;
      continue;
    }
    if (groups > 0 && random() >= PERSON_SHARE) {
      const g = pick(groups);
      let list = members.get(g);
      if (list === undefined) {
        list = pickDistinct(Math.min(5 + pick(16), users), users, pick).map(uid);
        members.set(g, list);
        yield subscribersAddedRecord({ channel_id: groupId(g), channel_type: GROUP, subscribers: list });
        if (++emitted >= events) break;
      }
      const from = list[pick(list.length)];
      const seq = nextSeq(groupId(g));
      yield message(from, groupId(g), GROUP, seq);
      const reader = list[pick(list.length)];
      if (reader !== from) delivered({ uid: reader, channel_id: groupId(g), channel_type: GROUP, seq });
    } else {
      const a = pick(users);
      let b = pick(users - 1);
      if (b >= a) b++;
      const [low, high] = a < b ? [a, b] : [b, a];
      const seq = nextSeq(`${low}:${high}`);
      yield message(uid(a), uid(b), PERSON, seq);
      delivered({ uid: uid(b), channel_id: uid(a), channel_type: PERSON, seq });
    }
    emitted++;
  }
}

const PERSON = 1;
const GROUP = 2;
const PERSON_SHARE = 0.7;
const READ_SHARE = 0.1;
const FIRST_TIMESTAMP = 1_764_000_000;
/** Beyond 2^53, so consumers that round int64 show it. */
const MESSAGE_ID_BASE = 1_800_000_000_000_000_000n;

function pickDistinct(count: number, from: number, pick: (n: number) => number): number[] {
  const chosen = new Set<number>();
  while (chosen.size < count) chosen.add(pick(from));
  return [...chosen];
}

