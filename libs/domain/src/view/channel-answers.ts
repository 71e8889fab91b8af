import { channelKeyOf } from '../channel-keys';
import { ConversationRecord, MessageRecord } from '../projection/records';
import { ConversationView } from './conversation-view';
import { SelectedConversation, byTimestampThenVersionDescending } from './sync-answer';
import { renderMessage } from './render';

/**
 * The rules of WuKongIM v2's other conversation endpoints (/conversation/channels,
 * /conversation/syncByChannels, /conversation/syncMessages) over the same views
 * as the sync: floors, visibility and ids as the reader sees them.
 */

/** A channel named in a request, by its id as the requesting user sees it. */
export interface RequestedChannel {
  channelId: string;
  channelType: number;
}

/** The channels of the conversations a full sync would list, in its order. */
export function listedChannels(views: readonly ConversationView[]): RequestedChannel[] {
  return views
    .filter((view) => view.head !== null)
    .map((view) => ({ view, tombstone: false, recentsAfterSeq: 0 }))
    .sort(byTimestampThenVersionDescending)
    .map(({ view }) => ({ channelId: view.conversation.channelId, channelType: view.conversation.channelType }));
}

export function renderChannelList(channels: readonly RequestedChannel[]): string {
  return `[${channels.map((c) => `{"channel_id":${JSON.stringify(c.channelId)},"channel_type":${c.channelType}}`).join(',')}]`;
}

/**
 * The requested channels the user can see (one with a visible message), in
 * request order, each once; recents above the user's floor. The answer has
 * the sync's entry shape.
 */
export function selectRequestedChannels(uid: string, views: readonly ConversationView[], requested: readonly RequestedChannel[]): SelectedConversation[] {
  const byKey = new Map(views.map((view) => [view.conversation.channelKey, view]));
  const selected: SelectedConversation[] = [];
  for (const channelKey of distinctKeys(uid, requested)) {
    const view = byKey.get(channelKey);
    if (view?.head) selected.push({ view, tombstone: false, recentsAfterSeq: view.conversation.floor });
  }
  return selected;
}

/** One channel of a /conversation/syncMessages request, planned against the user's records. */
export interface PlannedChannelMessages {
  channel: RequestedChannel;
  /** null when the user has no conversation in the channel: no messages. */
  conversation: ConversationRecord | null;
  afterSeq: number;
  uptoSeq: number;
  userLastMsgSeq: number;
}

/**
 * WuKongIM reads messages from `last_msg_seq` on (inclusive; 0 = from the
 * start); ours never reach below the user's floor nor above their latest
 * visible message. Every requested channel gets an entry, each once.
 */
export function planChannelMessages(
  uid: string,
  views: readonly ConversationView[],
  requested: readonly (RequestedChannel & { lastMsgSeq: number })[],
): PlannedChannelMessages[] {
  const byKey = new Map(views.map((view) => [view.conversation.channelKey, view]));
  const seen = new Set<string>();
  const planned: PlannedChannelMessages[] = [];
  for (const channel of requested) {
    const channelKey = channelKeyOf(channel.channelType, uid, channel.channelId);
    if (seen.has(channelKey)) continue;
    seen.add(channelKey);
    const view = byKey.get(channelKey);
    const floor = view?.conversation.floor ?? 0;
    const ownSeq = view?.conversation.ownSeq ?? 0;
    planned.push({
      channel: { channelId: channel.channelId, channelType: channel.channelType },
      conversation: view?.conversation ?? null,
      afterSeq: Math.max(floor, channel.lastMsgSeq - 1),
      uptoSeq: view?.lastMsgSeq ?? 0,
      userLastMsgSeq: ownSeq > floor ? ownSeq : 0,
    });
  }
  return planned;
}

export function renderChannelMessages(entries: readonly { planned: PlannedChannelMessages; messages: readonly MessageRecord[] }[]): string {
  const rendered = entries.map(({ planned, messages }) => {
    const { channelId, channelType } = planned.channel;
    const items = messages.map((message) => renderMessage(channelId, message.body)).join(',');
    return `{"channel_id":${JSON.stringify(channelId)},"channel_type":${channelType},"messages":[${items}],"user_last_msg_seq":${planned.userLastMsgSeq}}`;
  });
  return `[${rendered.join(',')}]`;
}

function distinctKeys(uid: string, requested: readonly RequestedChannel[]): string[] {
  return [...new Set(requested.map((c) => channelKeyOf(c.channelType, uid, c.channelId)))];
}
