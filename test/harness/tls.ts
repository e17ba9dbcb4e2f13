// A throwaway self-signed certificate for localhost (openssl, which Debian always has), for
// tests of STARTTLS and implicit TLS listeners.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';

export interface TestCert {
  certPath: string;
  keyPath: string;
  cert: Buffer;
  key: Buffer;
  /** What servers take: PEM certificate and key. */
  options: { cert: Buffer; key: Buffer; minVersion: 'TLSv1.2' };
  context: SecureContext;
}

let cached: TestCert | undefined;

export function testCert(): TestCert {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'tm-cert-'));
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '2', '-keyout', keyPath, '-out', certPath],
    { stdio: 'ignore' },
  );
  const cert = readFileSync(certPath);
  const key = readFileSync(keyPath);
  cached = { certPath, keyPath, cert, key, options: { cert, key, minVersion: 'TLSv1.2' }, context: createSecureContext({ cert, key, minVersion: 'TLSv1.2' }) };
  return cached;
}
