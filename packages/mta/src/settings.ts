// The relay's view of the config, computed once at start: resolved paths, its own name, and
// how to reach each store. Everything else in the package takes these typed values.
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import type { Config, RelayChannelConfig, RelaySmtpChannelConfig } from '@tiermail/core';

export interface RelaySettings {
  /** Host name of this relay in config.hosts (queue names carry it). */
  host: string;
  /** Name in the banner, EHLO and Received headers. */
  hostname: string;
  spoolDir: string;
  mailLogFile: string;
  /** bullmq key prefix (the Redis keyPrefix + "bull"). */
  queuePrefix: string;
  channels: { lmtp: RelayChannelConfig; smtp: RelaySmtpChannelConfig };
}

export function relaySettings(config: Config, host: string): RelaySettings {
  const spool = config.relay.spool;
  return {
    host,
    hostname: config.relay.hostname ?? host,
    spoolDir: isAbsolute(spool) ? spool : resolve(config.paths.var, spool),
    mailLogFile: join(config.paths.log, 'mail.log'),
    queuePrefix: `${config.redis.keyPrefix}bull`,
    channels: config.relay.channels,
  };
}

// A store host may listen for LMTP elsewhere than store.lmtp: its hosts.<name>.overrides.
const lmtpOverride = z.object({ store: z.object({ lmtp: z.object({ host: z.string().optional(), port: z.number().int().optional() }).partial() }).partial() }).partial();

export interface LmtpAddress {
  host: string;
  port: number;
}

/**
 * Where the store `mailHost` takes LMTP: hosts.<mailHost>.address and store.lmtp.port (or that
 * host's override of it). A mailHost that is not in hosts is taken as a DNS name, so a
 * directory that names stores by FQDN works without listing them.
 */
export function lmtpAddressOf(config: Config, mailHost: string): LmtpAddress {
  const entry = config.hosts[mailHost];
  const over = lmtpOverride.safeParse(entry?.overrides ?? {});
  const port = (over.success ? over.data.store?.lmtp?.port : undefined) ?? config.store.lmtp.port;
  return { host: entry?.address ?? mailHost, port };
}
