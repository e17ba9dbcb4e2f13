// Where a user's store takes IMAP: the user's mailHost names a host of the deployment
// (hosts.<mailHost>.address and store.imap.port, or that host's override of it); a mailHost
// that is not in hosts is taken as a DNS name with the default store IMAP port.
import { z } from 'zod';
import type { Config } from '@tiermail/core';

const imapOverride = z.object({ store: z.object({ imap: z.object({ host: z.string().optional(), port: z.number().int().optional() }).partial().nullable() }).partial() }).partial();

export interface StoreAddress {
  host: string;
  port: number;
}

export function storeImapAddress(config: Config, mailHost: string): StoreAddress | null {
  const entry = config.hosts[mailHost];
  const over = imapOverride.safeParse(entry?.overrides ?? {});
  const port = (over.success ? over.data.store?.imap?.port : undefined) ?? config.store.imap?.port;
  if (port === undefined) return null;
  return { host: entry?.address ?? mailHost, port };
}
