import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { IsChannelList, IsId, IsIntIn } from '../http/validators';

/** Channels one request may name; a request near 1 MiB holds about this many. */
export const MAX_REQUESTED_CHANNELS = 5_000;
export const DEFAULT_CHANNEL_MSG_COUNT = 15;

class RequestedChannelDoc {
  @ApiProperty({ example: 'alice', description: 'the channel as the requesting user sees it (person channel: the other user)' }) channel_id!: string;
  @ApiProperty({ example: 1, minimum: 1, maximum: 255 }) channel_type!: number;
}

class RequestedChannelFromSeqDoc extends RequestedChannelDoc {
  @ApiPropertyOptional({ example: 40, default: 0, minimum: 0, description: 'messages from this seq on (inclusive; 0 = from the start), never below the user\'s floor' })
  last_msg_seq?: number;
}

class UserRequestDto {
  @ApiProperty({ example: 'bob', minLength: 1, maxLength: 128 })
  @IsId()
  uid!: string;
}

/** POST /conversation/channels */
export class ConversationChannelsRequestDto extends UserRequestDto {}

const MSG_COUNT_DOC = { example: 15, default: DEFAULT_CHANNEL_MSG_COUNT, minimum: 0, description: 'messages per channel; 0 = 15, above 50 means 50' };

/** POST /conversation/syncByChannels */
export class SyncByChannelsRequestDto extends UserRequestDto {
  @ApiProperty({ type: [RequestedChannelDoc], maxItems: MAX_REQUESTED_CHANNELS })
  @IsChannelList(MAX_REQUESTED_CHANNELS, false)
  channels!: { channel_id: string; channel_type: number }[];

  @ApiPropertyOptional(MSG_COUNT_DOC)
  @IsOptional()
  @IsIntIn(0, Number.MAX_SAFE_INTEGER)
  msg_count?: number;
}

/** POST /conversation/syncMessages */
export class SyncMessagesRequestDto extends UserRequestDto {
  @ApiProperty({ type: [RequestedChannelFromSeqDoc], maxItems: MAX_REQUESTED_CHANNELS })
  @IsChannelList(MAX_REQUESTED_CHANNELS, true)
  channels!: { channel_id: string; channel_type: number; last_msg_seq?: number }[];

  @ApiPropertyOptional(MSG_COUNT_DOC)
  @IsOptional()
  @IsIntIn(0, Number.MAX_SAFE_INTEGER)
  msg_count?: number;

  @ApiPropertyOptional({ enum: [0, 1], default: 0, description: '1 = the newest msg_count messages, newest first; 0 = the oldest msg_count from last_msg_seq, oldest first' })
  @IsOptional()
  @IsIn([0, 1], { message: 'order_by_last: must be 0 or 1' })
  order_by_last?: 0 | 1;
}
