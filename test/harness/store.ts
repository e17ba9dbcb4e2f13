// Runs the real store process (packages/store/dist/main.js, a cluster primary with workers)
// with a config in a temporary directory; tests kill, stop and restart it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig, type Config } from '@tiermail/core';
import { LmtpClient } from './lmtp-client.js';
import { repoRoot } from './paths.js';
import { freePort } from './ports.js';
import { exited, tail, terminate, track, untrack } from './processes.js';

export interface StoreOptions {
  workers?: number;
  redisPort?: number;
  /** The directory (IMAP logins); a dead address when absent. */
  ldapUrl?: string;
  /** Extra keys merged into the store section. */
  store?: Record<string, unknown>;
  limits?: Record<string, unknown>;
  dir?: string;
  /** Its host name in the config (default store1): a second store is store2. */
  host?: string;
}

export interface StoreHandle {
  port: number;
  /** The IMAP listener (store.imap), on a free port. */
  imapPort: number;
  /** The POP3 listener (store.pop3). */
  pop3Port: number;
  /** The primary's /metrics (metrics.services.store). */
  metricsPort: number;
  dir: string;
  configFile: string;
  config: Config;
  readonly pid: number;
  output(): string;
  stop(): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
  /** Start again on the same port and data (after kill or stop). */
  start(): Promise<void>;
  cleanup(): Promise<void>;
}

export async function startStore(opts: StoreOptions = {}): Promise<StoreHandle> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'tm-store-'));
  const port = await freePort();
  const imapPort = await freePort();
  const metricsPort = await freePort();
  const pop3Port = await freePort();
  const configFile = join(dir, 'tiermail.yaml');
  writeFileSync(
    configFile,
    stringify({
      deployment: { postmaster: 'postmaster@example.test' },
      hosts: { [opts.host ?? 'store1']: { roles: ['store'], address: '127.0.0.1' } },
      directory: {
        urls: [opts.ldapUrl ?? 'ldap://127.0.0.1:1'],
        baseDn: 'o=tiermail',
        bindDn: 'cn=admin,o=tiermail',
        bindPassword: opts.ldapUrl ? 'demo-admin' : 'x',
        defaultDomain: 'example.test',
      },
      redis: { mode: 'single', host: '127.0.0.1', port: opts.redisPort ?? 1, keyPrefix: 'tmtest:' },
      paths: { var: './var', log: './log', run: './run' },
      log: { level: 'warn' },
      metrics: { services: { store: metricsPort } },
      limits: { ...opts.limits },
      store: { lmtp: { host: '127.0.0.1', port }, imap: { host: '127.0.0.1', port: imapPort }, pop3: { host: '127.0.0.1', port: pop3Port }, workers: opts.workers ?? 2, ...opts.store },
    }),
  );
  const config = loadConfig({ file: configFile, host: opts.host ?? 'store1' }).config;
  let child: ChildProcess | undefined;
  let out: () => string = () => '';
  let tracked: ReturnType<typeof track> | undefined;

  const start = async (): Promise<void> => {
    const c = spawn(process.execPath, [join(repoRoot, 'packages/store/dist/main.js'), '-c', configFile, '--host', opts.host ?? 'store1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so kill() can take the primary and its workers at once.
      detached: true,
    });
    child = c;
    tracked = track(c, undefined);
    const so = tail(c.stdout);
    const se = tail(c.stderr);
    out = () => `${so()}${se()}`;
    const until = Date.now() + 20000;
    for (;;) {
      if (c.exitCode !== null) throw new Error(`store exited with ${c.exitCode}:\n${out()}`);
      try {
        const { client, greeting } = await LmtpClient.open(port);
        await client.close();
        if (greeting.startsWith('220')) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > until) {
        // Never leave a store behind that failed to come up: it would keep this test file alive.
        try {
          process.kill(-c.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
        throw new Error(`store did not answer on ${port}:\n${out()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await start();

  return {
    port,
    imapPort,
    pop3Port,
    metricsPort,
    dir,
    configFile,
    config,
    get pid() {
      return child?.pid ?? -1;
    },
    output: () => out(),
    start,
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      // kill -9 of the primary leaves its workers; kill the whole group as a crash would.
      if (child?.pid) {
        try {
          process.kill(-child.pid, signal);
        } catch {
          child.kill(signal);
        }
      }
    },
    async stop() {
      if (child) {
        await terminate(child, 35000);
        if (tracked) untrack(tracked);
      }
    },
    async cleanup() {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited(child);
      }
      if (!opts.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
