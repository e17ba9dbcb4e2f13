// Where a store host takes IMAP or POP3: a user's mailHost names a host of the deployment
// (hosts.<mailHost>.address and store.imap/pop3 port, or that host's override of it); a
// mailHost that is not in hosts is taken as a DNS name with the default port. The MMP routes
// logins with it; `tiermail user move` reaches both stores with it.
import { z } from 'zod';
import type { Config } from './config/index.js';

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
