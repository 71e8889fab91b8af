import { ImEvent, MessageEvent, validateEvent } from '@cs/domain';
import { parseExactJson } from '@cs/json';
import { generateTraffic } from './traffic';

const plan = { events: 3_000, users: 40, groups: 8, seed: 7 };
const records = [...generateTraffic(plan)];
const events = records.map((r) => r.event);
const messages = events.filter((e): e is MessageEvent => e.type === 'message');

describe('generateTraffic', () => {
  it('gives exactly N events, the same for the same plan and different for another seed', () => {
    expect(records).toHaveLength(plan.events);
    expect([...generateTraffic(plan)].map((r) => r.value)).toEqual(records.map((r) => r.value));
    const other = [...generateTraffic({ ...plan, seed: 8 })];
    expect(other.map((r) => r.value)).not.toEqual(records.map((r) => r.value));
    expect(new Set(other.map((r) => r.key)).size).toBeGreaterThan(0);
    expect(other.some((r) => records.some((mine) => mine.key === r.key))).toBe(false);
  });

  it('writes only valid events, keyed by channel', () => {
    for (const record of records) {
      expect(validateEvent(parseExactJson(record.value))).toMatchObject({ ok: true });
    }
    const pairKeys = new Set(messages.filter((m) => m.channel_type === 1).map((m) => [m.from_uid, m.channel_id].sort().join('|')));
    expect(new Set(records.filter((r) => r.event.type === 'message' && r.event.channel_type === 1).map((r) => r.key)).size).toBe(pairKeys.size);
  });

  it('sends about 70% of messages in person chats and 30% in groups, and some reads', () => {
    const personShare = messages.filter((m) => m.channel_type === 1).length / messages.length;
    expect(personShare).toBeGreaterThan(0.65);
    expect(personShare).toBeLessThan(0.75);
    const reads = events.filter((e) => e.type === 'conversation_read').length / events.length;
    expect(reads).toBeGreaterThan(0.05);
    expect(reads).toBeLessThan(0.15);
  });

  it('creates each group with 5-20 members before its first message, and its messages come from members', () => {
    const members = new Map<string, string[]>();
    for (const event of events) {
      if (event.type === 'subscribers_added') {
        expect(members.has(event.channel_id)).toBe(false);
        expect(event.subscribers.length).toBeGreaterThanOrEqual(5);
        expect(event.subscribers.length).toBeLessThanOrEqual(20);
        members.set(event.channel_id, event.subscribers);
      }
      if (event.type === 'message' && event.channel_type !== 1) expect(members.get(event.channel_id)).toContain(event.from_uid);
    }
    expect(members.size).toBe(plan.groups);
  });

  it('numbers each channel’s messages 1, 2, 3… and writes message_id beyond 2^53', () => {
    const seqs = new Map<string, number[]>();
    records.forEach(({ key, event }) => event.type === 'message' && seqs.set(key, [...(seqs.get(key) ?? []), event.message_seq]));
    for (const list of seqs.values()) expect(list).toEqual(list.map((_, i) => i + 1));
    expect(messages.every((m) => m.message_id > 2n ** 53n)).toBe(true);
  });

  it('reads only conversations that received a message, as their reader sees them', () => {
    const delivered = new Set<string>();
    for (const event of events as ImEvent[]) {
      if (event.type === 'message') {
        if (event.channel_type === 1) delivered.add(`${event.channel_id}|${event.from_uid}`);
        else delivered.add(`*|${event.channel_id}`);
      }
      if (event.type === 'conversation_read') {
        expect(delivered.has(event.channel_type === 1 ? `${event.uid}|${event.channel_id}` : `*|${event.channel_id}`)).toBe(true);
      }
    }
  });

  it('makes person chats only with --groups 0, and stops at N even mid-group', () => {
    expect([...generateTraffic({ ...plan, groups: 0, events: 200 })].every((r) => r.event.type !== 'subscribers_added')).toBe(true);
    expect([...generateTraffic({ events: 1, users: 2, groups: 1, seed: 3 })]).toHaveLength(1);
  });
});
