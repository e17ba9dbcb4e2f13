// Where a routed recipient goes. The result of expansion, before it becomes a spool recipient.
import type { Channel, NotifyOn } from '../queue/recipient.js';

export interface Route {
  /** The address given at RCPT TO that led here. */
  orcpt: string;
  /** uid@domain for a local mailbox; the address for a remote one. */
  to: string;
  channel: Channel;
  /** mailHost (lmtp) or recipient domain (smtp). */
  destination: string;
  quotaBytes: number;
  quotaMessages: number;
  /** DSN wishes of the RCPT that led here (RFC 3461 NOTIFY and ORCPT). */
  notify?: NotifyOn[];
  orcptParam?: string;
}

/** One delivery per mailbox and per remote address, whatever path (group, forward) led to it. */
export function routeKey(r: Pick<Route, 'channel' | 'to'>): string {
  return `${r.channel}:${r.to.toLowerCase()}`;
}
