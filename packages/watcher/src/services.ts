// What the watcher runs on a host: the daemons of watcher.daemons first (slapd and
// redis-server in the local stack), then from its roles the store (LMTP and IMAP/POP3
// probed), the relay (SMTP), the MMP (IMAP/POP3); started in this order, stopped in reverse.
import { join } from 'node:path';
import type { Config } from '@tiermail/core';
import type { ProbeTarget } from './probes.js';

export interface ServiceSpec {
  name: string;
  command: string;
  args: string[];
  probes: ProbeTarget[];
  /** A tiermail tier (store, relay, mmp) rather than an outside daemon. */
  tier: boolean;
}

export function servicesFor(config: Config, host: string, root: string, configFile: string): ServiceSpec[] {
  const roles = config.hosts[host]?.roles ?? [];
  const out: ServiceSpec[] = config.watcher.daemons.map((d) => ({
    name: d.name,
    command: d.command,
    args: d.args,
    probes: [
      {
        ...d.probe,
        // An LDAP probe binds as the directory's service account.
        ...(d.probe.kind === 'ldap' ? { user: config.directory.bindDn, password: config.directory.bindPassword } : {}),
        ...(d.probe.kind === 'redis' && config.redis.password ? { password: config.redis.password } : {}),
      },
    ],
    tier: false,
  }));
  const tier = (name: string, pkg: string, probes: ProbeTarget[]): void => {
    out.push({ name, command: process.execPath, args: [join(root, 'packages', pkg, 'dist', 'main.js'), '-c', configFile, '--host', host], probes, tier: true });
  };
  if (roles.includes('store')) {
    const probes: ProbeTarget[] = [{ kind: 'lmtp', host: config.store.lmtp.host, port: config.store.lmtp.port }];
    if (config.store.imap) probes.push({ kind: 'imap', host: config.store.imap.host, port: config.store.imap.port });
    if (config.store.pop3) probes.push({ kind: 'pop3', host: config.store.pop3.host, port: config.store.pop3.port });
    tier('store', 'store', probes);
  }
  if (roles.includes('relay')) tier('relay', 'mta', [{ kind: 'smtp', host: config.relay.smtp.host, port: config.relay.smtp.port }]);
  if (roles.includes('mmp')) {
    const probes: ProbeTarget[] = [];
    if (config.mmp.imap) probes.push({ kind: 'imap', host: config.mmp.imap.host, port: config.mmp.imap.port });
    if (config.mmp.pop3) probes.push({ kind: 'pop3', host: config.mmp.pop3.host, port: config.mmp.pop3.port });
    tier('mmp', 'mmp', probes);
  }
  return out;
}
