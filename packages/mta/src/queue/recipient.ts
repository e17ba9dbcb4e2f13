// Per-recipient delivery state, as kept in the spool envelope. A message is done only when
// no recipient is pending; a failed recipient waits for its DSN (the next slice sends it).
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

export interface SpoolRecipient {
  /** Position in the envelope; with the spool id, the delivery id the store deduplicates on. */
  index: number;
  /** The address the client gave in RCPT TO (ORCPT in DSN terms). */
  orcpt: string;
  /** The routed address: uid@domain for a local mailbox, the address itself for a remote one. */
  to: string;
  channel: Channel;
  /** mailHost for lmtp, the recipient domain for smtp. */
  destination: string;
  /** From the directory at accept time (-1: none); refreshed at each LMTP attempt. */
  quotaBytes: number;
  quotaMessages: number;
  status: RecipientStatus;
}

export function isPending(r: SpoolRecipient): boolean {
  return r.status.state === 'pending';
}
