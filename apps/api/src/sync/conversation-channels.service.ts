import {
  MAX_MSG_COUNT,
  PlannedEntry,
  listedChannels,
  planChannelMessages,
  renderChannelList,
  renderChannelMessages,
  recentsOf,
  renderSyncAnswer,
  selectRequestedChannels,
  viewConversation,
} from '@cs/domain';
import { StoreSnapshot } from '@cs/storage';
import { ConversationChannelsRequestDto, DEFAULT_CHANNEL_MSG_COUNT, SyncByChannelsRequestDto, SyncMessagesRequestDto } from './conversation-channels.dto';
import { ProjectionReader } from './projection-reader';

/** WuKongIM v2's other conversation endpoints, over the same consistent reads as the sync. */
export class ConversationChannelsService {
  constructor(private readonly reader: ProjectionReader) {}

  async channels(request: ConversationChannelsRequestDto): Promise<Buffer> {
    const { snapshot } = await this.reader.read(request.uid, EVERYTHING);
    return Buffer.from(renderChannelList(listedChannels(viewsOf(snapshot))));
  }

  async syncByChannels(request: SyncByChannelsRequestDto): Promise<Buffer> {
    const count = messageCount(request.msg_count);
    const requested = request.channels.map(({ channel_id, channel_type }) => ({ channelId: channel_id, channelType: channel_type }));
    const read = await this.reader.read(request.uid, EVERYTHING);
    const planned: PlannedEntry[] = selectRequestedChannels(request.uid, viewsOf(read.snapshot), requested).map((entry) => ({
      entry,
      recents: recentsOf(entry, count),
    }));
    const recents = await read.recentsOf(planned);
    const entries = planned.map(({ entry }) => ({ entry, recents: recents.get(entry.view.conversation.channelKey) ?? [] }));
    return Buffer.from(renderSyncAnswer(entries, read.snapshot.frontier));
  }

  async syncMessages(request: SyncMessagesRequestDto): Promise<Buffer> {
    const count = messageCount(request.msg_count);
    const oldestFirst = request.order_by_last !== 1;
    const requested = request.channels.map((c) => ({ channelId: c.channel_id, channelType: c.channel_type, lastMsgSeq: c.last_msg_seq ?? 0 }));
    const read = await this.reader.read(request.uid, EVERYTHING);
    const channelPlans = planChannelMessages(request.uid, viewsOf(read.snapshot), requested);
    const views = new Map(viewsOf(read.snapshot).map((view) => [view.conversation.channelKey, view]));
    const planned: PlannedEntry[] = channelPlans.flatMap(({ conversation, afterSeq, uptoSeq }) =>
      conversation === null
        ? []
        : [{ entry: { view: views.get(conversation.channelKey)!, tombstone: false, recentsAfterSeq: afterSeq }, recents: { conversation, afterSeq, uptoSeq, count, oldestFirst } }],
    );
    const recents = await read.recentsOf(planned);
    const entries = channelPlans.map((plan) => ({ planned: plan, messages: plan.conversation === null ? [] : recents.get(plan.conversation.channelKey) ?? [] }));
    return Buffer.from(renderChannelMessages(entries));
  }
}

const EVERYTHING = { read: 'everything' } as const;

function viewsOf(snapshot: StoreSnapshot) {
  return snapshot.conversations.map((c) => viewConversation(c, snapshot.channels.get(c.channelKey)));
}

/** WuKongIM's rule: 0 means 15; ours caps it as the sync does. */
function messageCount(requested: number | undefined): number {
  return requested === undefined || requested === 0 ? DEFAULT_CHANNEL_MSG_COUNT : Math.min(requested, MAX_MSG_COUNT);
}
