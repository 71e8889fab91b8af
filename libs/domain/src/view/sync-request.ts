import { MAX_SEQ, isValidId } from '../event-validation';

/** A validated POST /conversation/sync request. */
export interface SyncQuery {
  uid: string;
  /** 0 = full sync; otherwise only conversations changed after this version. */
  version: bigint;
  /** Keyed by `lastMsgSeqKey(channelId, channelType)`. */
  lastMsgSeqs: ReadonlyMap<string, number>;
  msgCount: number;
  onlyUnread: boolean;
  excludeChannelTypes: ReadonlySet<number>;
  /** 0 = no paging. */
  page: number;
  pageSize: number;
  /** Incremental answers report deleted conversations as `deleted: 1` entries. */
  includeDeleted: boolean;
}

export const MAX_MSG_COUNT = 50;
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 500;

/** WuKongIM's rule: 0 means the default, above the maximum means the maximum. */
export function effectivePageSize(requested: number | undefined): number {
  if (requested === undefined || requested === 0) return DEFAULT_PAGE_SIZE;
  return Math.min(requested, MAX_PAGE_SIZE);
}

export function lastMsgSeqKey(channelId: string, channelType: number): string {
  return `${channelType} ${channelId}`;
}

export interface LastMsgSeqs {
  value: Map<string, number>;
  /** Entries left out because they could not be read, each with why. */
  skipped: string[];
}

/**
 * Parses `channelID:channelType:seq|…` as WuKongIM does: an entry that cannot
 * be read is skipped, not fatal (real clients send some). A channel id may
 * itself contain ':', so each entry is split at its last two colons.
 */
export function parseLastMsgSeqs(text: string): LastMsgSeqs {
  const value = new Map<string, number>();
  const skipped: string[] = [];
  text.split('|').forEach((entry, index) => {
    if (entry === '') return;
    const parsed = parseEntry(entry);
    if (typeof parsed === 'string') skipped.push(`entry ${index + 1} (${JSON.stringify(entry.slice(0, 300))}): ${parsed}`);
    else value.set(lastMsgSeqKey(parsed.channelId, parsed.channelType), parsed.seq);
  });
  return { value, skipped };
}

function parseEntry(entry: string): { channelId: string; channelType: number; seq: number } | string {
  const seqColon = entry.lastIndexOf(':');
  const typeColon = seqColon > 0 ? entry.lastIndexOf(':', seqColon - 1) : -1;
  const channelId = typeColon > 0 ? entry.slice(0, typeColon) : '';
  const channelType = channelTypeOf(entry.slice(typeColon + 1, seqColon));
  const seqText = entry.slice(seqColon + 1);
  const seq = Number(seqText);
  if (!isValidId(channelId)) return 'needs channelID:channelType:seq with a valid channel id';
  if (channelType === null) return 'channel type must be an integer in 1..255 (or -128..-1, a signed byte)';
  if (!/^\d{1,16}$/.test(seqText) || seq > MAX_SEQ) return `seq must be an integer in 0..${MAX_SEQ}`;
  return { channelId, channelType, seq };
}

/** Android keeps channel types in a signed byte: 200 arrives as -56. */
function channelTypeOf(text: string): number | null {
  if (!/^-?\d{1,3}$/.test(text)) return null;
  const type = Number(text);
  if (type >= 1 && type <= 255) return type;
  if (type >= -128 && type <= -1) return type + 256;
  return null;
}
