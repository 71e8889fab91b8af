import { mulberry32 } from '../../apps/cli/src/random';
import { channelKeyOf } from '../../libs/domain/src/channel-keys';
/**
 * Synthetic IM traffic for the benchmark: message events, 70% in person
 * channels and 30% in groups of 5–20 members (each group created by a
 * `subscribers_added` before its first message). Deterministic (seeded), and
 * it keeps per-channel seqs across calls so later phases continue the same
 * channels. Records carry an explicit partition: regular traffic goes to
 * partitions 0..regularPartitions-1 (by a hash of the channel key, which is also
 * the record key, as the event contract asks), so a
 * dedicated partition can stay free for the big group.
 */

export interface OutRecord {
  partition: number;
  key: string;
  value: string;
}

export interface TrafficCounts {
  records: number;
  messages: number;
  personMessages: number;
  groupMessages: number;
  subscribersAdded: number;
}

export interface TrafficShape {
  users: number;
  personPairs: number;
  groups: number;
  regularPartitions: number;
  seed: number;
}

interface PersonChannel {
  a: string;
  b: string;
  key: string;
  partition: number;
  seq: number;
}

interface GroupChannel {
  id: string;
  key: string;
  partition: number;
  members: string[];
  seq: number;
  created: boolean;
}

const FIRST_MESSAGE_ID = 1_900_000_000_000_000_000n; // beyond 2^53, like snowflake ids: written as bare integers
const FIRST_TIMESTAMP = 1_764_000_000;

export class Traffic {
  private readonly random: () => number;
  private readonly users: string[];
  private readonly pairs: PersonChannel[] = [];
  private readonly groups: GroupChannel[] = [];
  private readonly payloads: string[];
  private messageId = FIRST_MESSAGE_ID;
  private timestamp = FIRST_TIMESTAMP;
  private clientMsgNo = 0;

  constructor(private readonly shape: TrafficShape) {
    this.random = mulberry32(shape.seed);
    this.users = Array.from({ length: shape.users }, (_, i) => `user-${i.toString().padStart(6, '0')}`);
    this.payloads = Array.from({ length: 64 }, () => randomBase64(this.random, 16 + Math.floor(this.random() * 64)));
    for (let i = 0; i < shape.personPairs; i++) {
      let a = this.pick(this.users);
      let b = this.pick(this.users);
      while (b === a) b = this.pick(this.users);
      if (b < a) [a, b] = [b, a];
      const key = channelKeyOf(1, a, b);
      this.pairs.push({ a, b, key, partition: this.partitionOf(key), seq: 0 });
    }
    for (let i = 0; i < shape.groups; i++) {
      const id = `group-${i.toString().padStart(5, '0')}`;
      const size = 5 + Math.floor(this.random() * 16); // 5..20
      const members = new Set<string>();
      while (members.size < size) members.add(this.pick(this.users));
      const key = channelKeyOf(2, '', id);
      this.groups.push({ id, key, partition: this.partitionOf(key), members: [...members], seq: 0, created: false });
    }
  }

  /** `messages` message events (plus the `subscribers_added` of groups that get their first message). */
  regular(messages: number): { records: OutRecord[]; counts: TrafficCounts } {
    const records: OutRecord[] = [];
    const counts: TrafficCounts = { records: 0, messages: 0, personMessages: 0, groupMessages: 0, subscribersAdded: 0 };
    for (let i = 0; i < messages; i++) {
      if (this.random() < 0.7) {
        const pair = this.pick(this.pairs);
        const fromA = this.random() < 0.5;
        pair.seq += 1;
        records.push({
          partition: pair.partition,
          key: pair.key,
          value: this.message(pair.seq, fromA ? pair.a : pair.b, fromA ? pair.b : pair.a, 1),
        });
        counts.personMessages++;
      } else {
        const group = this.pick(this.groups);
        if (!group.created) {
          group.created = true;
          records.push({ partition: group.partition, key: group.key, value: subscribersAdded(group.id, 2, group.members) });
          counts.subscribersAdded++;
        }
        group.seq += 1;
        records.push({ partition: group.partition, key: group.key, value: this.message(group.seq, this.pick(group.members), group.id, 2) });
        counts.groupMessages++;
      }
      counts.messages++;
    }
    counts.records = records.length;
    return { records, counts };
  }

  /** A message event as producers write it (`message_id` a bare int64 beyond 2^53). */
  message(seq: number, fromUid: string, channelId: string, channelType: number): string {
    this.messageId += 1n;
    this.timestamp += this.random() < 0.1 ? 1 : 0;
    this.clientMsgNo += 1;
    return (
      `{"type":"message","message_id":${this.messageId},"message_seq":${seq},"client_msg_no":"c-${this.clientMsgNo}",` +
      `"from_uid":${JSON.stringify(fromUid)},"channel_id":${JSON.stringify(channelId)},"channel_type":${channelType},` +
      `"timestamp":${this.timestamp},"payload":"${this.pick(this.payloads)}"}`
    );
  }

  partitionOf(key: string): number {
    return fnv1a(key) % this.shape.regularPartitions;
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)];
  }
}

export function subscribersAdded(channelId: string, channelType: number, subscribers: string[]): string {
  return JSON.stringify({ type: 'subscribers_added', channel_id: channelId, channel_type: channelType, subscribers });
}

export function conversationRead(uid: string, channelId: string, channelType: number, readToSeq: number): string {
  return JSON.stringify({ type: 'conversation_read', uid, channel_id: channelId, channel_type: channelType, read_to_seq: readToSeq });
}


function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function randomBase64(random: () => number, bytes: number): string {
  const buffer = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) buffer[i] = Math.floor(random() * 256);
  return buffer.toString('base64');
}

/** The records split per partition (in order) into batches of at most `size`, as a consumer would fetch them. */
export function partitionBatches(records: OutRecord[], size: number): [number, OutRecord[]][] {
  const byPartition = new Map<number, OutRecord[]>();
  for (const record of records) {
    const list = byPartition.get(record.partition) ?? [];
    list.push(record);
    byPartition.set(record.partition, list);
  }
  const batches: [number, OutRecord[]][] = [];
  for (const [partition, list] of byPartition) for (let i = 0; i < list.length; i += size) batches.push([partition, list.slice(i, i + size)]);
  return batches;
}
