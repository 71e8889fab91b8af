import { Body, Controller, Post, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ErrorAnswerDoc } from '../http/error-answer.doc';
import { JsonTextAnswer } from '../http/json-text-answer';
import { TokenGuard } from '../http/token.guard';
import { UserHeaderGuard } from '../http/user-header.guard';
import { validatedBody } from '../http/validated-body';
import { ChannelMessagesDoc, ListedChannelDoc, SyncConversationDoc } from './sync-answer.doc';
import { ConversationChannelsRequestDto, SyncByChannelsRequestDto, SyncMessagesRequestDto } from './conversation-channels.dto';
import { ConversationChannelsService } from './conversation-channels.service';

/** WuKongIM v2's /conversation/channels, /syncByChannels and /syncMessages; answers rendered as text for exact int64. */
@ApiTags('sync')
@ApiSecurity('token')
@ApiSecurity('bearer')
@ApiBadRequestResponse({ type: ErrorAnswerDoc, description: 'a field is wrong; msg names it' })
@ApiUnauthorizedResponse({ type: ErrorAnswerDoc, description: 'API_TOKEN set and no valid token, or API_USER_HEADER set and missing' })
@ApiPayloadTooLargeResponse({ type: ErrorAnswerDoc, description: 'body over 1 MiB' })
@ApiServiceUnavailableResponse({ type: ErrorAnswerDoc, description: 'PostgreSQL (and Redis) unreachable; retry' })
@Controller('conversation')
@UseGuards(TokenGuard, UserHeaderGuard)
export class ConversationChannelsController {
  constructor(private readonly service: ConversationChannelsService) {}

  @Post('channels')
  @ApiOperation({ summary: 'The channels of the conversations a full sync would list, in its order' })
  @ApiBody({ type: ConversationChannelsRequestDto, examples: { user: { value: { uid: 'bob' } } } })
  @ApiOkResponse({ type: [ListedChannelDoc] })
  @JsonTextAnswer()
  async channels(@Body() body: unknown): Promise<Buffer> {
    return this.service.channels(validatedBody(ConversationChannelsRequestDto, body));
  }

  @Post('syncByChannels')
  @ApiOperation({ summary: 'Sync-shaped entries for the requested channels the user can see, in request order' })
  @ApiBody({ type: SyncByChannelsRequestDto, examples: { two: { value: { uid: 'bob', channels: [{ channel_id: 'alice', channel_type: 1 }, { channel_id: 'team:42', channel_type: 2 }], msg_count: 5 } } } })
  @ApiOkResponse({ type: [SyncConversationDoc], description: 'entries as in /conversation/sync (never deleted: 1)' })
  @JsonTextAnswer()
  async syncByChannels(@Body() body: unknown): Promise<Buffer> {
    return this.service.syncByChannels(validatedBody(SyncByChannelsRequestDto, body));
  }

  @Post('syncMessages')
  @ApiOperation({ summary: "Each requested channel's messages visible to the user, from last_msg_seq on" })
  @ApiBody({ type: SyncMessagesRequestDto, examples: { newest: { value: { uid: 'bob', channels: [{ channel_id: 'alice', channel_type: 1, last_msg_seq: 40 }], msg_count: 15, order_by_last: 1 } } } })
  @ApiOkResponse({ type: [ChannelMessagesDoc], description: 'one entry per requested channel, in request order' })
  @JsonTextAnswer()
  async syncMessages(@Body() body: unknown): Promise<Buffer> {
    return this.service.syncMessages(validatedBody(SyncMessagesRequestDto, body));
  }
}
