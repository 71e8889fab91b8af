import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiGatewayTimeoutResponse,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ErrorAnswerDoc, OkAnswerDoc } from '../http/error-answer.doc';
import { TokenGuard } from '../http/token.guard';
import { UserHeaderGuard } from '../http/user-header.guard';
import { validatedBody } from '../http/validated-body';
import { CommandPublisher } from './command.publisher';
import { ClearUnreadDto, DeleteConversationDto, SetUnreadDto } from './command-requests.dto';

const OK = { status: 200 };

/** WuKongIM's conversation commands, event-sourced: each publishes an event and waits until it is visible. */
@ApiTags('conversations')
@ApiSecurity('token')
@ApiSecurity('bearer')
@ApiOkResponse({ type: OkAnswerDoc, description: 'applied: the next sync reflects it' })
@ApiBadRequestResponse({ type: ErrorAnswerDoc })
@ApiUnauthorizedResponse({ type: ErrorAnswerDoc })
@ApiServiceUnavailableResponse({ type: ErrorAnswerDoc, description: 'Kafka could not take the event' })
@ApiGatewayTimeoutResponse({ type: ErrorAnswerDoc, description: 'accepted but not visible within COMMAND_TIMEOUT_MS' })
@Controller('conversations')
@UseGuards(TokenGuard, UserHeaderGuard)
export class ConversationsController {
  constructor(private readonly commands: CommandPublisher) {}

  @Post('clearUnread')
  @ApiOperation({ summary: 'Mark read (up to message_seq, or everything delivered): publishes conversation_read' })
  @ApiBody({ type: ClearUnreadDto })
  @HttpCode(200)
  async clearUnread(@Body() body: unknown) {
    const { uid, channel_id, channel_type, message_seq } = validatedBody(ClearUnreadDto, body);
    await this.commands.markRead({ uid, channel_id, channel_type, ...(message_seq ? { read_to_seq: message_seq } : {}) });
    return OK;
  }

  @Post('setUnread')
  @ApiOperation({ summary: 'Set the unread count (mark as unread works): publishes conversation_unread_set' })
  @ApiBody({ type: SetUnreadDto })
  @HttpCode(200)
  async setUnread(@Body() body: unknown) {
    const { uid, channel_id, channel_type, unread } = validatedBody(SetUnreadDto, body);
    await this.commands.setUnread({ uid, channel_id, channel_type, unread });
    return OK;
  }

  @Post('delete')
  @ApiOperation({ summary: 'Delete the conversation until a new message arrives: publishes conversation_deleted' })
  @ApiBody({ type: DeleteConversationDto })
  @HttpCode(200)
  async delete(@Body() body: unknown) {
    const { uid, channel_id, channel_type } = validatedBody(DeleteConversationDto, body);
    await this.commands.deleteConversation({ uid, channel_id, channel_type });
    return OK;
  }
}
