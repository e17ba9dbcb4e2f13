// What the SMTP phase handlers share: the relay's services, and the per-transaction state
// (from MAIL to the end of DATA; smtp-server gives every transaction a new envelope object,
// so state keyed on it cannot leak into the next transaction).
import type { Directory, LoginPolicy, Logger } from '@tiermail/core';
import type { SMTPServerEnvelope } from 'smtp-server';
import type { RelayMailLog } from '../log/mail-events.js';
import type { NetworkList } from '@tiermail/core';
import type { AddressRewriter } from '../routing/rewrite.js';
import type { Route } from '../routing/route.js';
import type { Spool } from '../spool/spool.js';
import type { Envelope } from '../spool/envelope.js';

/** mx: port 25, no AUTH; submission: 587/465, AUTH required (RFC 6409). */
export type ListenerMode = 'mx' | 'submission';

export interface SmtpContext {
  hostname: string;
  defaultDomain: string;
  directory: Directory;
  spool: Spool;
  mailLog: RelayMailLog;
  logger: Logger;
  trusted: NetworkList;
  maxReceived: number;
  maxMessageSize: number;
  policyTimeoutMs: number;
  /** relay.rewrite: RCPT TO addresses before routing, MAIL FROM in the envelope. */
  rewriteRecipients: AddressRewriter;
  rewriteSenders: AddressRewriter;
  /** Checks AUTH on the submission listeners. */
  login?: LoginPolicy;
  /** Submission: MAIL FROM must be the user's own address. */
  senderCheck: boolean;
  /** Called after a message is durable and acknowledged; schedules its delivery. */
  onAccepted(env: Envelope): void;
}

export interface Transaction {
  /** Deliveries by routeKey: one per mailbox or remote address, however many RCPTs led there. */
  routes: Map<string, Route>;
}

const transactions = new WeakMap<SMTPServerEnvelope, Transaction>();

export function transactionOf(envelope: SMTPServerEnvelope): Transaction {
  let t = transactions.get(envelope);
  if (!t) {
    t = { routes: new Map() };
    transactions.set(envelope, t);
  }
  return t;
}
