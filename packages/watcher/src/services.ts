// What the watcher runs on a host, from its roles: the store (LMTP probed, and IMAP when on),
// the relay (SMTP), the MMP (IMAP when on), started in this order and stopped in reverse.
import { join } from 'node:path';
import type { Config } from '@tiermail/core';
import type { ProbeTarget } from './probes.js';

export interface ServiceSpec {
  name: 'store' | 'relay' | 'mmp';
  script: string;
  probes: ProbeTarget[];
}

export function servicesFor(config: Config, host: string, root: string): ServiceSpec[] {
  const roles = config.hosts[host]?.roles ?? [];
  const out: ServiceSpec[] = [];
  if (roles.includes('store')) {
    const probes: ProbeTarget[] = [{ kind: 'lmtp', host: config.store.lmtp.host, port: config.store.lmtp.port }];
    if (config.store.imap) probes.push({ kind: 'imap', host: config.store.imap.host, port: config.store.imap.port });
    out.push({ name: 'store', script: join(root, 'packages', 'store', 'dist', 'main.js'), probes });
  }
  if (roles.includes('relay')) {
    out.push({ name: 'relay', script: join(root, 'packages', 'mta', 'dist', 'main.js'), probes: [{ kind: 'smtp', host: config.relay.smtp.host, port: config.relay.smtp.port }] });
  }
  if (roles.includes('mmp')) {
    const probes: ProbeTarget[] = config.mmp.imap ? [{ kind: 'imap', host: config.mmp.imap.host, port: config.mmp.imap.port }] : [];
    out.push({ name: 'mmp', script: join(root, 'packages', 'mmp', 'dist', 'main.js'), probes });
  }
  return out;
}
