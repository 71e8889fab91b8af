import { IsOptional } from 'class-validator';
import { IsId, IsIntIn, IsSeq } from '../http/validators';

class ConversationTargetDto {
  @IsId()
  uid!: string;

  /** The channel as the user sees it (for a person channel: the other user's uid). */
  @IsId()
  channel_id!: string;

  @IsIntIn(1, 255)
  channel_type!: number;
}

export class ClearUnreadDto extends ConversationTargetDto {
  /** Read up to this seq; absent or 0 = everything delivered. */
  @IsOptional()
  @IsSeq()
  message_seq?: number;
}

export class SetUnreadDto extends ConversationTargetDto {
  @IsSeq()
  unread!: number;
}

export class DeleteConversationDto extends ConversationTargetDto {}
