// Where a user's store takes IMAP: the user's mailHost names a host of the deployment
// (hosts.<mailHost>.address and store.imap.port, or that host's override of it); a mailHost
// that is not in hosts is taken as a DNS name with the default store IMAP port.
import { z } from 'zod';
import type { Config } from '@tiermail/core';

const listen = z.object({ host: z.string().optional(), port: z.number().int().optional() }).partial().nullable();
const storeOverride = z.object({ store: z.object({ imap: listen, pop3: listen }).partial() }).partial();

export interface StoreAddress {
  host: string;
  port: number;
}

export function storeAddress(config: Config, mailHost: string, service: 'imap' | 'pop3'): StoreAddress | null {
  const entry = config.hosts[mailHost];
  const over = storeOverride.safeParse(entry?.overrides ?? {});
  const port = (over.success ? over.data.store?.[service]?.port : undefined) ?? config.store[service]?.port;
  if (port === undefined) return null;
  return { host: entry?.address ?? mailHost, port };
}

/** A bare user name ("alice") gets the virtual domain of the address the client connected
 * to (mmp.virtualDomains), so one MMP can serve several domains on several addresses. */
export function qualifyUser(config: Config, user: string, localAddress: string | undefined): string {
  if (user.includes('@') || !localAddress) return user;
  const domain = config.mmp.virtualDomains[localAddress.replace(/^::ffff:/i, '')];
  return domain ? `${user}@${domain}` : user;
}

export function storeImapAddress(config: Config, mailHost: string): StoreAddress | null {
  return storeAddress(config, mailHost, 'imap');
}
