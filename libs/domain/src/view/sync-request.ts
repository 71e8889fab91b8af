import { MAX_ID_LENGTH, MAX_SEQ } from '../event-validation';

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
}

export const MAX_MSG_COUNT = 50;
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 500;

export function lastMsgSeqKey(channelId: string, channelType: number): string {
  return `${channelType} ${channelId}`;
}

export type LastMsgSeqsParse = { ok: true; value: Map<string, number> } | { ok: false; reason: string };

/**
 * Parses `channelID:channelType:seq|…`. A channel id may itself contain ':',
 * so each entry is split at its last two colons. Empty entries are skipped.
 */
export function parseLastMsgSeqs(text: string): LastMsgSeqsParse {
  const value = new Map<string, number>();
  const entries = text.split('|');
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index];
    if (entry === '') continue;
    const seqColon = entry.lastIndexOf(':');
    const typeColon = seqColon > 0 ? entry.lastIndexOf(':', seqColon - 1) : -1;
    const channelId = typeColon > 0 ? entry.slice(0, typeColon) : '';
    const channelType = Number(entry.slice(typeColon + 1, seqColon));
    const seqText = entry.slice(seqColon + 1);
    const seq = Number(seqText);
    const problem =
      typeColon <= 0 || channelId.length > MAX_ID_LENGTH
        ? `needs channelID:channelType:seq with a channel id of 1..${MAX_ID_LENGTH} characters`
        : !/^\d{1,3}$/.test(entry.slice(typeColon + 1, seqColon)) || channelType < 1 || channelType > 255
          ? 'channel type must be an integer in 1..255'
          : !/^\d{1,16}$/.test(seqText) || seq > MAX_SEQ
            ? `seq must be an integer in 0..${MAX_SEQ}`
            : null;
    if (problem) return { ok: false, reason: `last_msg_seqs: entry ${index + 1} (${JSON.stringify(entry.slice(0, 300))}): ${problem}` };
    value.set(lastMsgSeqKey(channelId, channelType), seq);
  }
  return { ok: true, value };
}
