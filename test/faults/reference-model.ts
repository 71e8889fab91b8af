import { ImEvent, MessageEvent } from '../../libs/domain/src/events';

/**
 * The fault suite's own reference model: what every user's full sync must be
 * after the valid events, computed straight from docs/sync-contract.md
 * ("Rules", "POST /conversation/sync") with plain lists and sets, and nothing
 * from the app's projection or view code, so a rule bug there shows as a
 * mismatch instead of being copied. Events come in apply order per channel;
 * the order across channels does not change the final state. Versions are not
 * modelled: the suite checks those as safety properties.
 */

export interface ModelOptions {
  /** RECENT_MESSAGES_KEPT the consumers run with. */
  recentMessagesKept: number;
  /** msg_count of the full syncs compared. */
  msgCount: number;
}

export interface ExpectedMessage {
  channel_id: string;
  message_id: bigint;
  message_idstr: string;
  message_seq: number;
  client_msg_no: string;
  from_uid: string;
  channel_type: number;
  timestamp: number;
  payload: string;
  header: { no_persist: number; red_dot: number; sync_once: number };
  setting: number;
  expire: number;
  topic: string;
}

export interface ExpectedConversation {
  channel_id: string;
  channel_type: number;
  unread: number;
  timestamp: number;
  last_msg_seq: number;
  last_client_msg_no: string;
  offset_msg_seq: number;
  readed_to_msg_seq: number;
  recents: ExpectedMessage[];
}

/** Every user's expected full sync (conversations in any order), by uid; users with none are absent. */
export function expectedFullSyncs(events: readonly ImEvent[], options: ModelOptions): Map<string, ExpectedConversation[]> {
  const model = new ReferenceModel(options.recentMessagesKept);
  for (const event of events) model.apply(event);
  return model.fullSyncs(options.msgCount);
}

const PERSON = 1;

/** A message as applied: who it went to, and in which windows a copy is kept. */
interface AppliedMessage {
  event: MessageEvent;
  /** Window names ('' = the channel's own window, a uid = that explicit recipient's). */
  windows: string[];
}

interface Channel {
  type: number;
  members: Set<string>;
  /** Highest seq applied (kept when it arrived), whoever received it. */
  latestSeq: number;
  /** Highest seq let go of by any of the channel's windows, or refused for lack of room. */
  droppedUpTo: number;
  /** Window name -> kept seqs, ascending. */
  windows: Map<string, number[]>;
  /** Seq -> the first message applied with it. */
  messages: Map<number, AppliedMessage>;
}

/** One user's relation to one channel. */
interface Relation {
  uid: string;
  channelKey: string;
  /** The channel id as this user sees it. */
  seenAs: string;
  floor: number;
  read: number;
  ownSeq: number;
  /** Seqs delivered to this user, in delivery order. */
  delivered: number[];
}

class ReferenceModel {
  private readonly channels = new Map<string, Channel>();
  private readonly relations = new Map<string, Relation>();

  constructor(private readonly kept: number) {}

  apply(event: ImEvent): void {
    switch (event.type) {
      case 'message':
        return this.message(event);
      case 'subscribers_added':
        return this.join(event.channel_id, event.channel_type, event.subscribers);
      case 'subscribers_removed':
        return this.leave(event.channel_id, event.channel_type, event.subscribers);
      case 'conversation_read': {
        const relation = this.relationOf(event.uid, event.channel_id, event.channel_type);
        const delivered = Math.max(0, ...relation.delivered);
        const target = event.read_to_seq === null ? delivered : Math.min(event.read_to_seq, delivered);
        relation.read = Math.max(relation.read, target);
        return;
      }
      case 'conversation_unread_set': {
        const relation = this.relationOf(event.uid, event.channel_id, event.channel_type);
        relation.read = Math.max(relation.floor, lastVisible(relation) - event.unread);
        return;
      }
      case 'conversation_deleted': {
        const relation = this.relationOf(event.uid, event.channel_id, event.channel_type);
        if (lastVisible(relation) > 0) relation.floor = Math.max(relation.floor, ...relation.delivered);
        return;
      }
    }
  }

  fullSyncs(msgCount: number): Map<string, ExpectedConversation[]> {
    const result = new Map<string, ExpectedConversation[]>();
    for (const relation of this.relations.values()) {
      const conversation = this.conversationOf(relation, msgCount);
      if (conversation === null) continue;
      const list = result.get(relation.uid) ?? [];
      list.push(conversation);
      result.set(relation.uid, list);
    }
    return result;
  }

  private message(event: MessageEvent): void {
    if (event.header.no_persist === 1 || event.header.sync_once === 1) return;
    const person = event.channel_type === PERSON;
    const channelKey = person ? personKey(event.from_uid, event.channel_id) : groupKey(event.channel_type, event.channel_id);
    const channel = this.channel(channelKey, event.channel_type);
    const seq = event.message_seq;
    if (channel.messages.has(seq) || seq <= channel.droppedUpTo) return;
    const explicit = person ? null : event.subscribers;
    const recipients = person ? [event.from_uid, event.channel_id] : explicit !== null ? [...new Set(explicit)] : [...channel.members];
    const candidateWindows = explicit === null ? [''] : [...new Set(explicit)];
    const windows = candidateWindows.filter((name) => this.hasRoom(channel, name, seq));
    if (windows.length === 0) {
      channel.droppedUpTo = Math.max(channel.droppedUpTo, seq);
      return;
    }
    for (const name of windows) this.keep(channel, name, seq);
    channel.messages.set(seq, { event, windows });
    channel.latestSeq = Math.max(channel.latestSeq, seq);
    for (const uid of new Set(recipients)) {
      const seenAs = person ? (uid === event.from_uid ? event.channel_id : event.from_uid) : event.channel_id;
      const relation = this.relation(uid, channelKey, seenAs);
      relation.delivered.push(seq);
      if (uid === event.from_uid) relation.ownSeq = Math.max(relation.ownSeq, seq);
    }
  }

  /** Whether `seq` would be among the window's newest `kept` seqs. */
  private hasRoom(channel: Channel, name: string, seq: number): boolean {
    const seqs = channel.windows.get(name) ?? [];
    return seqs.filter((s) => s > seq).length < this.kept;
  }

  private keep(channel: Channel, name: string, seq: number): void {
    const seqs = [...(channel.windows.get(name) ?? []), seq].sort((a, b) => a - b);
    while (seqs.length > this.kept) channel.droppedUpTo = Math.max(channel.droppedUpTo, seqs.shift()!);
    channel.windows.set(name, seqs);
  }

  private join(channelId: string, channelType: number, uids: string[]): void {
    const channelKey = groupKey(channelType, channelId);
    const channel = this.channel(channelKey, channelType);
    for (const uid of uids) {
      if (channel.members.has(uid)) continue;
      channel.members.add(uid);
      const relation = this.relation(uid, channelKey, channelId);
      relation.floor = Math.max(relation.floor, channel.latestSeq);
    }
  }

  private leave(channelId: string, channelType: number, uids: string[]): void {
    const channel = this.channel(groupKey(channelType, channelId), channelType);
    for (const uid of uids) channel.members.delete(uid);
  }

  private conversationOf(relation: Relation, msgCount: number): ExpectedConversation | null {
    const last = lastVisible(relation);
    if (last === 0) return null;
    const channel = this.channels.get(relation.channelKey)!;
    const head = channel.messages.get(last)!.event;
    const readedTo = Math.min(last, Math.max(relation.read, relation.ownSeq, relation.floor));
    const recents = relation.delivered
      .filter((seq) => seq > relation.floor && this.isKeptFor(channel, seq, relation.uid))
      .sort((a, b) => b - a)
      .slice(0, msgCount)
      .map((seq) => recentOf(channel.messages.get(seq)!.event, relation.seenAs));
    return {
      channel_id: relation.seenAs,
      channel_type: channel.type,
      unread: last - readedTo,
      timestamp: head.timestamp,
      last_msg_seq: last,
      last_client_msg_no: clientMsgNo(head),
      offset_msg_seq: 0,
      readed_to_msg_seq: readedTo,
      recents,
    };
  }

  /** A copy the user reads (the channel's window, or their own) still holds the message. */
  private isKeptFor(channel: Channel, seq: number, uid: string): boolean {
    const message = channel.messages.get(seq)!;
    return message.windows.some((name) => (name === '' || name === uid) && (channel.windows.get(name) ?? []).includes(seq));
  }

  private channel(channelKey: string, type: number): Channel {
    let channel = this.channels.get(channelKey);
    if (!channel) {
      channel = { type, members: new Set(), latestSeq: 0, droppedUpTo: 0, windows: new Map(), messages: new Map() };
      this.channels.set(channelKey, channel);
    }
    return channel;
  }

  private relationOf(uid: string, channelId: string, channelType: number): Relation {
    const channelKey = channelType === PERSON ? personKey(uid, channelId) : groupKey(channelType, channelId);
    return this.relation(uid, channelKey, channelId);
  }

  private relation(uid: string, channelKey: string, seenAs: string): Relation {
    const key = JSON.stringify([uid, channelKey]);
    let relation = this.relations.get(key);
    if (!relation) {
      relation = { uid, channelKey, seenAs, floor: 0, read: 0, ownSeq: 0, delivered: [] };
      this.relations.set(key, relation);
    }
    return relation;
  }
}

/** The highest seq delivered to the user above their floor, or 0. */
function lastVisible(relation: Relation): number {
  return Math.max(0, ...relation.delivered.filter((seq) => seq > relation.floor));
}

function personKey(a: string, b: string): string {
  return JSON.stringify([PERSON, ...[a, b].sort()]);
}

function groupKey(type: number, id: string): string {
  return JSON.stringify([type, id]);
}

function clientMsgNo(event: MessageEvent): string {
  return event.client_msg_no === '' ? event.message_id.toString() : event.client_msg_no;
}

function recentOf(event: MessageEvent, seenAs: string): ExpectedMessage {
  return {
    channel_id: seenAs,
    message_id: event.message_id,
    message_idstr: event.message_id.toString(),
    message_seq: event.message_seq,
    client_msg_no: clientMsgNo(event),
    from_uid: event.from_uid,
    channel_type: event.channel_type,
    timestamp: event.timestamp,
    payload: event.payload,
    header: { no_persist: event.header.no_persist, red_dot: event.header.red_dot, sync_once: event.header.sync_once },
    setting: event.setting,
    expire: event.expire,
    topic: event.topic,
  };
}
