import { MAX_PAGE_SIZE } from '@cs/domain';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { IsId, IsIntIn, IsListOfAtMost, IsTextOfAtMost, IsVersion } from '../http/validators';

/** POST /conversation/sync, as WuKongIM clients send it. Unknown fields are ignored. */
export class SyncRequestDto {
  @ApiProperty({ example: 'bob', minLength: 1, maxLength: 128 })
  @IsId()
  uid!: string;

  /** int64 ≥ 0: a JSON integer of any size (parsed exactly) or a decimal string. */
  @ApiPropertyOptional({
    type: 'integer',
    format: 'int64',
    example: 1795641817742084857,
    default: 0,
    description:
      '0 = full sync; otherwise only conversations with a greater version. Bare integer of any size (parsed exactly) or decimal string; ' +
      'read as the nearest multiple of 1024 (every version handed out is one), so a value a JavaScript client rounded through a double still means the version it saw.',
  })
  @IsOptional()
  @IsVersion()
  version?: number | bigint | string;

  /** `channelID:channelType:seq|…` */
  @ApiPropertyOptional({
    example: 'alice:1:40|team:42:2:9',
    description: 'entries split at their last two colons; an unreadable entry is skipped; a negative channel type is read as a signed byte (-56 = 200)',
  })
  @IsOptional()
  @IsTextOfAtMost(512 * 1024)
  last_msg_seqs?: string;

  @ApiPropertyOptional({ example: 10, default: 0, minimum: 0, description: 'recent messages per conversation; above 50 means 50' })
  @IsOptional()
  @IsIntIn(0, Number.MAX_SAFE_INTEGER)
  msg_count?: number;

  @ApiPropertyOptional({ enum: [0, 1], default: 0 })
  @IsOptional()
  @IsIn([0, 1], { message: 'only_unread: must be 0 or 1' })
  only_unread?: 0 | 1;

  @ApiPropertyOptional({ type: [Number], example: [3, 4], description: 'channel types 1..255 to leave out, except channels listed in last_msg_seqs' })
  @IsOptional()
  @IsListOfAtMost(255)
  @IsIntIn(1, 255, { each: true })
  exclude_channel_types?: number[];

  @ApiPropertyOptional({ example: 0, default: 0, description: '0 = no paging; n ≥ 1 = the n-th page' })
  @IsOptional()
  @IsIntIn(0, Number.MAX_SAFE_INTEGER)
  page?: number;

  @ApiPropertyOptional({ example: 100, default: 100, minimum: 0, description: `0 = the default (100); above ${MAX_PAGE_SIZE} means ${MAX_PAGE_SIZE}` })
  @IsOptional()
  @IsIntIn(0, Number.MAX_SAFE_INTEGER)
  page_size?: number;

  @ApiPropertyOptional({
    enum: [0, 1],
    default: 0,
    description: '1 = incremental answers report conversations deleted since `version` as {channel_id, channel_type, version, deleted: 1}; 0 = they simply stop appearing',
  })
  @IsOptional()
  @IsIn([0, 1], { message: 'include_deleted: must be 0 or 1' })
  include_deleted?: 0 | 1;
}
