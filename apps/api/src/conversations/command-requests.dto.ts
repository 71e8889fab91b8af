import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { IsId, IsIntIn, IsSeq } from '../http/validators';

class ConversationTargetDto {
  @ApiProperty({ example: 'bob', minLength: 1, maxLength: 128 })
  @IsId()
  uid!: string;

  /** The channel as the user sees it (for a person channel: the other user's uid). */
  @ApiProperty({ example: 'alice', minLength: 1, maxLength: 128 })
  @IsId()
  channel_id!: string;

  @ApiProperty({ example: 1, minimum: 1, maximum: 255 })
  @IsIntIn(1, 255)
  channel_type!: number;
}

export class ClearUnreadDto extends ConversationTargetDto {
  /** Read up to this seq; absent or 0 = everything delivered. */
  @ApiPropertyOptional({ example: 42, minimum: 0 })
  @IsOptional()
  @IsSeq()
  message_seq?: number;
}

export class SetUnreadDto extends ConversationTargetDto {
  @ApiProperty({ example: 1, minimum: 0 })
  @IsSeq()
  unread!: number;
}

export class DeleteConversationDto extends ConversationTargetDto {}
