import { Body, Controller, Header, HttpCode, Post, UseGuards } from '@nestjs/common';
import { TokenGuard } from '../http/token.guard';
import { validatedBody } from '../http/validated-body';
import { SyncRequestDto } from './sync-request.dto';
import { SyncService } from './sync.service';

@Controller('conversation')
@UseGuards(TokenGuard)
export class SyncController {
  constructor(private readonly sync: SyncService) {}

  /** The answer is rendered as JSON text so versions and message ids stay exact integers. */
  @Post('sync')
  @HttpCode(200)
  @Header('content-type', 'application/json; charset=utf-8')
  async syncConversations(@Body() body: unknown): Promise<string> {
    return this.sync.sync(validatedBody(SyncRequestDto, body));
  }
}
