// Per-recipient delivery state, as kept in the spool envelope. A message is done only when
// no recipient is pending; a failed recipient's DSN is sent before that (dsn/).
import type { Route } from '../routing/route.js';

export type Channel = 'lmtp' | 'smtp';

/** What the sender asked to hear about (RFC 3461 NOTIFY); absent = FAILURE and DELAY. */
export type NotifyOn = 'NEVER' | 'SUCCESS' | 'FAILURE' | 'DELAY';

/** Whether a DSN is owed for this recipient ('pending'), sent, or not wanted ('none'). */
export type DsnState = 'pending' | 'sent' | 'none';

export type RecipientStatus =
  | { state: 'pending'; attempts: number; nextTryAt: string; lastAnswer: string | null }
  | {
      state: 'delivered';
      attempts: number;
      at: string;
      answer: string;
      /** Set when the sender asked for NOTIFY=SUCCESS (or the next hop cannot carry it: relayed). */
      dsn?: DsnState;
      /** Who answered (mail.log remote), for the success DSN's Remote-MTA. */
      remote?: string;
      /** 'relayed': handed to an SMTP server that does not do DSN (RFC 3461 5.2.2). */
      action?: 'delivered' | 'relayed';
    }
  | {
      state: 'failed';
      attempts: number;
      at: string;
      answer: string;
      /** 'pending' until a DSN went to the sender; 'none' for the null sender <> or NOTIFY=NEVER. */
      dsn: DsnState;
      remote?: string;
    };

/** A routed recipient as the spool keeps it; quotas are refreshed at each LMTP attempt. */
export interface SpoolRecipient extends Route {
  /** Position in the envelope; with the spool id, the delivery id the store deduplicates on. */
  index: number;
  status: RecipientStatus;
  /** RCPT NOTIFY=; absent = the default (FAILURE, DELAY). */
  notify?: NotifyOn[];
  /** RCPT ORCPT= as given ("rfc822;user@example.org"), for the DSN's Original-Recipient. */
  orcptParam?: string;
}

export function wantsNotice(r: Pick<SpoolRecipient, 'notify'>, on: Exclude<NotifyOn, 'NEVER'>): boolean {
  if (!r.notify) return on !== 'SUCCESS';
  return r.notify.includes(on);
}

export function isPending(r: SpoolRecipient): boolean {
  return r.status.state === 'pending';
}
