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
import { SyncConversationDoc } from './sync-answer.doc';
import { TokenGuard } from '../http/token.guard';
import { UserHeaderGuard } from '../http/user-header.guard';
import { validatedBody } from '../http/validated-body';
import { SyncRequestDto } from './sync-request.dto';
import { SyncService } from './sync.service';
import { Readable } from 'node:stream';

@ApiTags('sync')
@ApiSecurity('token')
@ApiSecurity('bearer')
@Controller('conversation')
@UseGuards(TokenGuard, UserHeaderGuard)
export class SyncController {
  constructor(private readonly sync: SyncService) {}

  /** The answer is rendered as JSON text (sent as its UTF-8 bytes) so versions and message ids stay exact integers. */
  @Post('sync')
  @ApiOperation({ summary: "A user's conversations, unread counts and latest messages; incremental with `version`" })
  @ApiBody({
    type: SyncRequestDto,
    examples: {
      full: { value: { uid: 'bob', msg_count: 10 } },
      incremental: { value: { uid: 'bob', version: 1795641817742084857n.toString(), msg_count: 10, last_msg_seqs: 'alice:1:40' } },
    },
  })
  @ApiOkResponse({ type: [SyncConversationDoc], description: 'ordered by timestamp, then version, descending' })
  @ApiBadRequestResponse({ type: ErrorAnswerDoc, description: 'a field is wrong; msg names it' })
  @ApiUnauthorizedResponse({ type: ErrorAnswerDoc, description: 'API_TOKEN set and no valid token, or API_USER_HEADER set and missing' })
  @ApiPayloadTooLargeResponse({ type: ErrorAnswerDoc, description: 'body over 1 MiB' })
  @ApiServiceUnavailableResponse({ type: ErrorAnswerDoc, description: 'PostgreSQL (and Redis) unreachable; retry' })
  @JsonTextAnswer()
  async syncConversations(@Body() body: unknown): Promise<Buffer | Readable> {
    return this.sync.sync(validatedBody(SyncRequestDto, body));
  }
}
