// The host's TLS certificate and key (config.tls), read once at start for every listener that
// offers STARTTLS or implicit TLS. Undefined when no certificate is configured.
import { readFileSync } from 'node:fs';
import type { SecureContextOptions } from 'node:tls';
import type { Config } from './config/index.js';

export interface TlsMaterial extends SecureContextOptions {
  cert: Buffer;
  key: Buffer;
}

export function tlsMaterial(config: Pick<Config, 'tls'>): TlsMaterial | undefined {
  const { cert, key, minVersion } = config.tls;
  if (!cert || !key) return undefined;
  return { cert: readFileSync(cert), key: readFileSync(key), minVersion };
}
