import { PERSON_CHANNEL } from '../events';
import { MAX_MSG_COUNT } from '../view/sync-request';
import { ConversationRecord, MessageRecord } from './records';

/**
 * Bounded retention. A channel's messages live in windows ("lanes"), each
 * keeping only its newest RECENT_MESSAGES_KEPT seqs:
 * - the channel's own window (lane null): its member-delivered messages, and
 *   every message of a person channel (all of them go to both people);
 * - one window per explicit recipient (lane = uid): the messages a group
 *   channel addressed to that uid by `subscribers`.
 * A user's visible messages all sit in the channel window or their own, and
 * every message newer than a visible one in those windows is visible too
 * (above the floor), so their newest MAX_MSG_COUNT visible messages are always
 * kept. A removed member is the exception: the channel window moves on
 * without them, so their recents keep only what is still in it.
 */

export const DEFAULT_RECENT_MESSAGES_KEPT = 100;
export const MIN_RECENT_MESSAGES_KEPT = MAX_MSG_COUNT;

export interface MessageWindow {
  channelKey: string;
  /** null: the channel's own window; a uid: that explicit recipient's. */
  lane: string | null;
  /** The seqs kept, ascending. */
  keptSeqs: number[];
  /** Channel window only: the highest seq let go of from any of the channel's windows. */
  droppedUpTo: number;
}

export function newWindow(channelKey: string, lane: string | null): MessageWindow {
  return { channelKey, lane, keptSeqs: [], droppedUpTo: 0 };
}

export function windowKeyOf(channelKey: string, lane: string | null): string {
  return lane === null ? channelKey : `${channelKey}\0${lane}`;
}

/** The windows a message with these recipients is kept in (explicit recipients deduplicated). */
export function lanesOf(channelType: number, recipients: readonly string[] | null): (string | null)[] {
  if (recipients === null || channelType === PERSON_CHANNEL) return [null];
  return [...new Set(recipients)];
}

/** The windows a user's recents of a conversation come from. */
export function lanesReadBy(conversation: ConversationRecord): (string | null)[] {
  return conversation.channelType === PERSON_CHANNEL ? [null] : [null, conversation.uid];
}

/** Whether `seq` would be among the window's newest `kept` once added. */
export function fitsWindow(window: MessageWindow, seq: number, kept: number): boolean {
  const { keptSeqs } = window;
  if (keptSeqs.includes(seq)) return false;
  return keptSeqs.length - insertionIndex(keptSeqs, seq) < kept;
}

/** Adds `seq`, then lets go of the oldest beyond `kept`; returns the window and the highest seq let go of (0 for none). */
export function keepInWindow(window: MessageWindow, seq: number, kept: number): { window: MessageWindow; dropped: number } {
  const keptSeqs = [...window.keptSeqs];
  keptSeqs.splice(insertionIndex(keptSeqs, seq), 0, seq);
  const excess = Math.max(0, keptSeqs.length - kept);
  const dropped = excess > 0 ? keptSeqs[excess - 1] : 0;
  return { window: { ...window, keptSeqs: keptSeqs.slice(excess) }, dropped };
}

/** Whether a message copy is still in its window (trimming always lets go of the lowest seqs). */
export function isKeptIn(window: MessageWindow | undefined, message: MessageRecord): boolean {
  return window !== undefined && window.keptSeqs.length > 0 && message.seq >= window.keptSeqs[0];
}

function insertionIndex(ascending: readonly number[], seq: number): number {
  let low = 0;
  let high = ascending.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (ascending[middle] < seq) low = middle + 1;
    else high = middle;
  }
  return low;
}
