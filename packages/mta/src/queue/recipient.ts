// Per-recipient delivery state, as kept in the spool envelope. A message is done only when
// no recipient is pending; a failed recipient waits for its DSN (the next slice sends it).
import type { Route } from '../routing/route.js';

export type Channel = 'lmtp' | 'smtp';

export type RecipientStatus =
  | { state: 'pending'; attempts: number; nextTryAt: string; lastAnswer: string | null }
  | { state: 'delivered'; attempts: number; at: string; answer: string }
  | {
      state: 'failed';
      attempts: number;
      at: string;
      answer: string;
      /** 'pending' until a DSN went to the sender; 'none' for the null sender <>. */
      dsn: 'pending' | 'none';
    };

/** A routed recipient as the spool keeps it; quotas are refreshed at each LMTP attempt. */
export interface SpoolRecipient extends Route {
  /** Position in the envelope; with the spool id, the delivery id the store deduplicates on. */
  index: number;
  status: RecipientStatus;
}

export function isPending(r: SpoolRecipient): boolean {
  return r.status.state === 'pending';
}
