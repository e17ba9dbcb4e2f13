// Runs the real relay process (packages/mta/dist/main.js: cluster primary, SMTP workers and
// the job-controller worker) with a config in a temporary directory, pointed at a test slapd,
// redis-server and store. Tests stop, kill and restart it, and read its mail.log.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig, parseMailLogLine, type Config, type MailLogRecord } from '@tiermail/core';
import { repoRoot } from './paths.js';
import { freePort } from './ports.js';
import { exited, tail, terminate, track, untrack } from './processes.js';

export interface RelayOptions {
  ldapUrl: string;
  redisPort: number;
  /** LMTP port of store host `store1` (the demo users' mailHost in relay tests). */
  storePort: number;
  workers?: number;
  /** More hosts (other stores) beside relay1 and store1. */
  hosts?: Record<string, unknown>;
  /** Extra keys merged into the relay section. */
  relay?: Record<string, unknown>;
  limits?: Record<string, unknown>;
  /** config.tls (certificate and key files): STARTTLS on every listener. */
  tls?: { cert: string; key: string };
  dir?: string;
}

export interface RelayHandle {
  port: number;
  /** relay.submission (AUTH required). */
  submissionPort: number;
  /** The primary's /metrics (metrics.services.relay). */
  metricsPort: number;
  dir: string;
  configFile: string;
  config: Config;
  readonly pid: number;
  output(): string;
  mailLog(): MailLogRecord[];
  stop(): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
  start(): Promise<void>;
  cleanup(): Promise<void>;
}

/** Resolves with the first line the server sends, or rejects if nothing comes. */
function banner(port: number, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error('no banner'));
    }, timeoutMs);
    s.setEncoding('latin1');
    s.once('data', (d: string) => {
      clearTimeout(t);
      s.end('QUIT\r\n');
      resolve(d);
    });
    s.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

export async function startRelay(opts: RelayOptions): Promise<RelayHandle> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'tm-relay-'));
  const port = await freePort();
  const submissionPort = await freePort();
  const metricsPort = await freePort();
  const configFile = join(dir, 'tiermail.yaml');
  writeFileSync(
    configFile,
    stringify({
      deployment: { postmaster: 'postmaster@example.test' },
      hosts: {
        relay1: { roles: ['relay'], address: '127.0.0.1' },
        store1: { roles: ['store'], address: '127.0.0.1', overrides: { store: { lmtp: { port: opts.storePort } } } },
        ...opts.hosts,
      },
      directory: {
        urls: [opts.ldapUrl],
        baseDn: 'o=tiermail',
        bindDn: 'cn=admin,o=tiermail',
        bindPassword: 'demo-admin',
        defaultDomain: 'example.test',
        // Tests change entries (quotas) and expect the relay to see it within a second.
        cache: { ttlMs: 500, negativeTtlMs: 500 },
      },
      redis: { mode: 'single', host: '127.0.0.1', port: opts.redisPort, keyPrefix: 'tmtest:' },
      paths: { var: './var', log: './log', run: './run' },
      log: { level: 'warn' },
      limits: { ...opts.limits },
      metrics: { services: { relay: metricsPort } },
      ...(opts.tls ? { tls: opts.tls } : {}),
      relay: {
        smtp: { host: '127.0.0.1', port },
        submission: { host: '127.0.0.1', port: submissionPort },
        hostname: 'relay1.example.test',
        workers: opts.workers ?? 2,
        resyncIntervalMs: 1000,
        channels: { lmtp: { retrySeconds: [1, 1, 2], concurrency: 10 } },
        // Never the internet's DNS from a test: a port nothing answers on, unless a test gives
        // its own server (test/harness/dns.ts).
        dns: { servers: ['127.0.0.1:9'], timeoutMs: 500 },
        ...opts.relay,
      },
    }),
  );
  const config = loadConfig({ file: configFile, host: 'relay1' }).config;
  let child: ChildProcess | undefined;
  let out: () => string = () => '';
  let tracked: ReturnType<typeof track> | undefined;

  const start = async (): Promise<void> => {
    const c = spawn(process.execPath, [join(repoRoot, 'packages/mta/dist/main.js'), '-c', configFile, '--host', 'relay1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    child = c;
    tracked = track(c, undefined);
    const so = tail(c.stdout);
    const se = tail(c.stderr);
    out = () => `${so()}${se()}`;
    const until = Date.now() + 20000;
    for (;;) {
      if (c.exitCode !== null) throw new Error(`relay exited with ${c.exitCode}:\n${out()}`);
      try {
        if ((await banner(port)).startsWith('220')) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > until) throw new Error(`relay did not answer on ${port}:\n${out()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await start();

  const mailLogFile = join(config.paths.log, 'mail.log');
  return {
    port,
    submissionPort,
    metricsPort,
    dir,
    configFile,
    config,
    get pid() {
      return child?.pid ?? -1;
    },
    output: () => out(),
    mailLog() {
      if (!existsSync(mailLogFile)) return [];
      return readFileSync(mailLogFile, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => parseMailLogLine(l))
        .filter((r): r is MailLogRecord => r !== undefined);
    },
    start,
    kill(signal: NodeJS.Signals = 'SIGKILL') {
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
        try {
          process.kill(-(child.pid ?? 0), 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
        await exited(child);
      }
      if (!opts.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
