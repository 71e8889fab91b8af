import { MAX_PAGE_SIZE } from '@cs/domain';
import { IsIn, IsOptional } from 'class-validator';
import { IsId, IsIntIn, IsListOfAtMost, IsTextOfAtMost, IsVersion } from '../http/validators';

/** POST /conversation/sync, as WuKongIM clients send it. Unknown fields are ignored. */
export class SyncRequestDto {
  @IsId()
  uid!: string;

  /** int64 ≥ 0: a JSON integer of any size (parsed exactly) or a decimal string. */
  @IsOptional()
  @IsVersion()
  version?: number | bigint | string;

  /** `channelID:channelType:seq|…` */
  @IsOptional()
  @IsTextOfAtMost(512 * 1024)
  last_msg_seqs?: string;

  @IsOptional()
  @IsIntIn(0, Number.MAX_SAFE_INTEGER)
  msg_count?: number;

  @IsOptional()
  @IsIn([0, 1], { message: 'only_unread: must be 0 or 1' })
  only_unread?: 0 | 1;

  @IsOptional()
  @IsListOfAtMost(255)
  @IsIntIn(1, 255, { each: true })
  exclude_channel_types?: number[];

  @IsOptional()
  @IsIntIn(0, Number.MAX_SAFE_INTEGER)
  page?: number;

  @IsOptional()
  @IsIntIn(1, MAX_PAGE_SIZE)
  page_size?: number;
}
