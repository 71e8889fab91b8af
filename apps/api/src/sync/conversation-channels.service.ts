import {
  MAX_MSG_COUNT,
  PlannedChannelMessages,
  SelectedConversation,
  listedChannels,
  planChannelMessages,
  renderChannelList,
  renderChannelMessages,
  renderSyncAnswer,
  selectRequestedChannels,
} from '@cs/domain';
import { RecentsRequest } from '@cs/storage';
import { ConversationChannelsRequestDto, DEFAULT_CHANNEL_MSG_COUNT, SyncByChannelsRequestDto, SyncMessagesRequestDto } from './conversation-channels.dto';
import { ProjectionReader, recentsOf, viewsOf } from './projection-reader';

/** WuKongIM v2's other conversation endpoints, over the same consistent reads as the sync. */
export class ConversationChannelsService {
  constructor(private readonly reader: ProjectionReader) {}

  async channels(request: ConversationChannelsRequestDto): Promise<Buffer> {
    const { read } = await this.reader.read(request.uid, () => []);
    return Buffer.from(renderChannelList(listedChannels(viewsOf(read.snapshot))));
  }

  async syncByChannels(request: SyncByChannelsRequestDto): Promise<Buffer> {
    const count = messageCount(request.msg_count);
    const requested = request.channels.map(({ channel_id, channel_type }) => ({ channelId: channel_id, channelType: channel_type }));
    let selected: SelectedConversation[] = [];
    const { read } = await this.reader.read(request.uid, (snapshot) => {
      selected = selectRequestedChannels(request.uid, viewsOf(snapshot), requested);
      return selected.map((entry) => recentsOf(entry, count));
    });
    return Buffer.from(renderSyncAnswer(selected.map((entry, i) => ({ entry, recents: read.recents[i] })), read.snapshot.frontier ?? null));
  }

  async syncMessages(request: SyncMessagesRequestDto): Promise<Buffer> {
    const count = messageCount(request.msg_count);
    const oldestFirst = request.order_by_last !== 1;
    const requested = request.channels.map((c) => ({ channelId: c.channel_id, channelType: c.channel_type, lastMsgSeq: c.last_msg_seq ?? 0 }));
    let planned: PlannedChannelMessages[] = [];
    const { read } = await this.reader.read(request.uid, (snapshot) => {
      planned = planChannelMessages(request.uid, viewsOf(snapshot), requested);
      return planned.flatMap(({ conversation, afterSeq, uptoSeq }): RecentsRequest[] =>
        conversation === null ? [] : [{ conversation, afterSeq, uptoSeq, count, oldestFirst }],
      );
    });
    let next = 0;
    const entries = planned.map((plan) => ({ planned: plan, messages: plan.conversation === null ? [] : read.recents[next++] }));
    return Buffer.from(renderChannelMessages(entries));
  }
}

/** WuKongIM's rule: 0 means 15; ours caps it as the sync does. */
function messageCount(requested: number | undefined): number {
  return requested === undefined || requested === 0 ? DEFAULT_CHANNEL_MSG_COUNT : Math.min(requested, MAX_MSG_COUNT);
}
