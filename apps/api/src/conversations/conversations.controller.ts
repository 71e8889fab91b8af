import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { TokenGuard } from '../http/token.guard';
import { validatedBody } from '../http/validated-body';
import { CommandPublisher } from './command.publisher';
import { ClearUnreadDto, DeleteConversationDto, SetUnreadDto } from './command-requests.dto';

const OK = { status: 200 };

/** WuKongIM's conversation commands, event-sourced: each publishes an event and waits until it is visible. */
@Controller('conversations')
@UseGuards(TokenGuard)
export class ConversationsController {
  constructor(private readonly commands: CommandPublisher) {}

  @Post('clearUnread')
  @HttpCode(200)
  async clearUnread(@Body() body: unknown) {
    const { uid, channel_id, channel_type, message_seq } = validatedBody(ClearUnreadDto, body);
    await this.commands.publishAndWait({
      type: 'conversation_read',
      uid,
      channel_id,
      channel_type,
      ...(message_seq ? { read_to_seq: message_seq } : {}),
    });
    return OK;
  }

  @Post('setUnread')
  @HttpCode(200)
  async setUnread(@Body() body: unknown) {
    const { uid, channel_id, channel_type, unread } = validatedBody(SetUnreadDto, body);
    await this.commands.publishAndWait({ type: 'conversation_unread_set', uid, channel_id, channel_type, unread });
    return OK;
  }

  @Post('delete')
  @HttpCode(200)
  async delete(@Body() body: unknown) {
    const { uid, channel_id, channel_type } = validatedBody(DeleteConversationDto, body);
    await this.commands.publishAndWait({ type: 'conversation_deleted', uid, channel_id, channel_type });
    return OK;
  }
}
