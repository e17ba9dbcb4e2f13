// RCPT-time policy: an ordered list of small checks. Each looks at one recipient and says
// accept (with the deliveries it stands for), continue (not mine to decide) or reject. The
// first answer that is not continue wins; when every check continues, the default refuses.
import type { Directory, Logger } from '@tiermail/core';
import type { Route } from '../routing/route.js';
import type { SmtpReply } from '../smtp/replies.js';

export interface RcptContext {
  /** The address as given in RCPT TO. */
  address: string;
  local: string;
  /** Lower case. */
  domain: string;
  clientAddress: string;
  /** The client is in relay.trustedNetworks or authenticated. */
  trusted: boolean;
  /** Envelope sender ('' for <>) and the authenticated user, if any: for group posting rights. */
  senders: string[];
}

export type Verdict =
  | { action: 'accept'; routes: Route[] }
  | { action: 'continue' }
  | { action: 'reject'; reply: SmtpReply };

export interface PolicyServices {
  directory: Directory;
  defaultDomain: string;
  logger: Logger;
}

export interface RcptCheck {
  name: string;
  check(ctx: RcptContext, services: PolicyServices): Promise<Verdict>;
}
