import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { INT64_RULE } from '../http/api-docs';

/** The answer's shapes, for the OpenAPI document only (answers are rendered as text for exact int64). */
class MessageHeaderDoc {
  @ApiProperty({ enum: [0, 1] }) no_persist!: number;
  @ApiProperty({ enum: [0, 1] }) red_dot!: number;
  @ApiProperty({ enum: [0, 1] }) sync_once!: number;
}

export class RecentMessageDoc {
  @ApiProperty({ type: 'integer', format: 'int64', example: 9223372036854775807, description: INT64_RULE }) message_id!: number;
  @ApiProperty({ example: '9223372036854775807' }) message_idstr!: string;
  @ApiProperty({ example: 42 }) message_seq!: number;
  @ApiProperty({ example: 'c-42', description: 'never empty: the message id when the producer gave none' }) client_msg_no!: string;
  @ApiProperty({ example: 'alice' }) from_uid!: string;
  @ApiProperty({ example: 'alice', description: 'the channel as the requesting user sees it' }) channel_id!: string;
  @ApiProperty({ example: 1 }) channel_type!: number;
  @ApiProperty({ example: 1764100000, description: 'unix seconds' }) timestamp!: number;
  @ApiProperty({ example: 'aGVsbG8=', description: 'base64, as received' }) payload!: string;
  @ApiProperty({ type: MessageHeaderDoc }) header!: MessageHeaderDoc;
  @ApiProperty({ example: 0 }) setting!: number;
  @ApiProperty({ example: 0 }) expire!: number;
  @ApiProperty({ example: '' }) topic!: string;
}

export class SyncConversationDoc {
  @ApiProperty({ example: 'alice', description: 'the channel as the requesting user sees it (person channel: the other user)' }) channel_id!: string;
  @ApiProperty({ example: 1 }) channel_type!: number;
  @ApiPropertyOptional({ example: 1, description: 'absent on deleted entries' }) unread?: number;
  @ApiPropertyOptional({ example: 1764100000, description: 'of the last visible message, unix seconds' }) timestamp?: number;
  @ApiPropertyOptional({ example: 42 }) last_msg_seq?: number;
  @ApiPropertyOptional({ example: 'c-42' }) last_client_msg_no?: string;
  @ApiPropertyOptional({ example: 0 }) offset_msg_seq?: number;
  @ApiPropertyOptional({ example: 41 }) readed_to_msg_seq?: number;
  @ApiProperty({ type: 'integer', format: 'int64', example: 1795641817742084857, description: `nanosecond version, the sync cursor. ${INT64_RULE}` })
  version!: number;
  @ApiPropertyOptional({ type: [RecentMessageDoc], description: 'visible messages, newest first, at most msg_count' }) recents?: RecentMessageDoc[];
  @ApiPropertyOptional({ enum: [1], description: 'only in incremental answers with include_deleted: 1: deleted since the given version; the entry then has only channel_id, channel_type, version' })
  deleted?: number;
}

export class ListedChannelDoc {
  @ApiProperty({ example: 'alice', description: 'the channel as the requesting user sees it' }) channel_id!: string;
  @ApiProperty({ example: 1 }) channel_type!: number;
}

export class ChannelMessagesDoc extends ListedChannelDoc {
  @ApiProperty({ type: [RecentMessageDoc], description: 'visible messages: order_by_last 1 newest first, else oldest first; at most msg_count' }) messages!: RecentMessageDoc[];
  @ApiProperty({ example: 41, description: 'the highest seq the user sent in the channel that they still see (0 if none)' }) user_last_msg_seq!: number;
}
