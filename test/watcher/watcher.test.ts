// The watcher as a real process over a real store, relay and MMP (with slapd and redis-server
// from the harness): everything comes up and answers its probes; `tiermail status` reports it;
// kill -9 of the store is restarted with an alarm; a SIGSTOPped relay is detected by its probe
// and restarted; a service that keeps dying is left down; SIGTERM stops everything.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '@tiermail/core';
import { MessageStore } from '@tiermail/store';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { WatcherStatus } from '@tiermail/watcher';
import { runCli } from '../harness/cli.js';
import { repoRoot } from '../harness/paths.js';
import { freePort } from '../harness/ports.js';
import { startRedis, type RedisHandle } from '../harness/redis.js';
import { startSlapd, type SlapdHandle } from '../harness/slapd.js';

let slapd: SlapdHandle;
let redis: RedisHandle;
let watcherMetricsPort = 0;
let watcher: ChildProcess;
let configFile: string;
let statusPort: number;
const hook: { server?: Server; port: number; received: Array<{ service: string; kind: string; host: string }> } = { port: 0, received: [] };

async function status(): Promise<WatcherStatus> {
  return (await (await fetch(`http://127.0.0.1:${statusPort}/status`)).json()) as WatcherStatus;
}

async function until<T>(what: string, fn: (s: WatcherStatus) => T | undefined | false, ms = 40000): Promise<T> {
  const end = Date.now() + ms;
  let last: WatcherStatus | undefined;
  for (;;) {
    try {
      last = await status();
      const v = fn(last);
      if (v) return v;
    } catch {
      /* not up yet */
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const svc = (s: WatcherStatus, name: string) => s.services.find((x) => x.name === name)!;
const healthy = (s: WatcherStatus, name: string) => svc(s, name).state === 'running' && svc(s, name).lastProbe?.ok === true;

before(async () => {
  slapd = await startSlapd({ demo: true, mailHost: 'h1' });
  hook.server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      hook.received.push(JSON.parse(body) as { service: string; kind: string; host: string });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook.server!.listen(0, '127.0.0.1', () => r()));
  hook.port = (hook.server.address() as AddressInfo).port;
  redis = await startRedis();
  const dir = mkdtempSync(join(tmpdir(), 'tm-watcher-'));
  configFile = join(dir, 'tiermail.yaml');
  statusPort = await freePort();
  watcherMetricsPort = await freePort();
  const p = async () => ({ host: '127.0.0.1', port: await freePort() });
  writeFileSync(
    configFile,
    stringify({
      // The watcher mails alarms to the postmaster through the relay: alice plays the postmaster.
      deployment: { postmaster: 'alice@example.test' },
      hosts: { h1: { roles: ['store', 'relay', 'mmp', 'watcher'], address: '127.0.0.1' } },
      directory: { urls: [slapd.url], baseDn: 'o=tiermail', bindDn: slapd.adminDn, bindPassword: slapd.adminPassword, defaultDomain: 'example.test' },
      redis: { mode: 'single', host: '127.0.0.1', port: redis.port, keyPrefix: 'tmw:' },
      paths: { var: join(dir, 'var'), log: join(dir, 'log'), run: join(dir, 'run') },
      log: { level: 'warn' },
      metrics: { listen: { host: '127.0.0.1', port: watcherMetricsPort }, services: { store: await freePort(), relay: await freePort(), mmp: await freePort() } },
      store: { lmtp: await p(), imap: await p(), pop3: null, workers: 1 },
      // Quick retries: the alarm mail about the store is accepted while the store is restarting.
      relay: { smtp: await p(), submission: await p(), workers: 1, channels: { lmtp: { retrySeconds: [1] } } },
      mmp: { imap: await p(), pop3: null, submission: null, workers: 1 },
      watcher: {
        listen: { host: '127.0.0.1', port: statusPort },
        probeIntervalMs: 300,
        probeWarnMs: 1000,
        probeRestartMs: 2500,
        restartBackoffMs: [300],
        maxFailures: 2,
        failureWindowMs: 60000,
        stopTimeoutMs: 10000,
        webhook: `http://127.0.0.1:${hook.port}/alarm`,
        // Samples for the charts every second.
        checkIntervalMs: 1000,
      },
    }),
  );
  watcher = spawn(process.execPath, [join(repoRoot, 'packages/watcher/dist/main.js'), '-c', configFile, '--host', 'h1'], { stdio: ['ignore', 'ignore', 'inherit'] });
});
after(async () => {
  if (watcher.exitCode === null) {
    watcher.kill('SIGTERM');
    await new Promise((r) => watcher.once('exit', r));
  }
  hook.server?.close();
  await redis?.stop();
  await slapd?.stop();
});

test('the watcher brings store, relay and MMP up; tiermail status reports them', async () => {
  await until('all healthy', (s) => ['store', 'relay', 'mmp'].every((n) => healthy(s, n)));
  const r = await runCli(['-c', configFile, '--host', 'h1', '--json', 'status']);
  assert.equal(r.code, 0, r.stderr);
  const st = JSON.parse(r.stdout) as WatcherStatus;
  assert.deepEqual(st.services.map((s) => [s.name, s.state]), [['store', 'running'], ['relay', 'running'], ['mmp', 'running']]);
  const page = await (await fetch(`http://127.0.0.1:${statusPort}/`)).text();
  assert.match(page, /<td>store<\/td><td class="state">running<\/td>/);
});

test('the status page in headless Chromium: every service listed, charts drawn from /history; a screenshot', async () => {
  await until('all healthy', (s) => ['store', 'relay', 'mmp'].every((n) => healthy(s, n)));
  // A few samples for the charts (one a second in this config).
  const hist = await waitForHistory(3);
  const last = hist.samples.at(-1)!;
  assert.ok(typeof last.queue.lmtp === 'number' && last.connections.store !== null && last.connections.relay !== null && last.connections.mmp !== null, JSON.stringify(last));
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`http://127.0.0.1:${statusPort}/`);
    const rows = await page.$$eval('#services tr.svc', (trs) => trs.map((tr) => [tr.getAttribute('data-service'), tr.querySelector('.state')?.textContent]));
    assert.deepEqual(rows, [['store', 'running'], ['relay', 'running'], ['mmp', 'running']]);
    // uPlot draws each chart into a canvas.
    await page.waitForSelector('#chart-queue canvas', { timeout: 10000 });
    assert.equal(await page.locator('#charts canvas').count(), 3);
    const shot = join(tmpdir(), `tiermail-status-${process.pid}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10000, 'a real screenshot');
  } finally {
    await browser.close();
  }
});

test('tiermail status SERVICE, tiermail restart SERVICE, and the watcher\'s own /metrics', async () => {
  await until('all healthy', (s) => ['store', 'relay', 'mmp'].every((n) => healthy(s, n)));
  const one = await runCli(['-c', configFile, '--host', 'h1', '--json', 'status', 'mmp']);
  assert.equal(one.code, 0, one.stderr);
  assert.deepEqual((JSON.parse(one.stdout) as WatcherStatus).services.map((x) => x.name), ['mmp']);
  const none = await runCli(['-c', configFile, '--host', 'h1', 'status', 'nosuch']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no service nosuch on h1 \(there are: store, relay, mmp\)/);
  const pid = svc(await status(), 'mmp').pid;
  const r = await runCli(['-c', configFile, '--host', 'h1', 'restart', 'mmp']);
  assert.equal(r.code, 0, r.stderr);
  await until('mmp back under a new pid', (s) => healthy(s, 'mmp') && svc(s, 'mmp').pid !== pid);
  const m = await (await fetch(`http://127.0.0.1:${watcherMetricsPort}/metrics`)).text();
  assert.match(m, /tiermail_watcher_service_up\{service="mmp"[^}]*\} 1/);
  assert.match(m, /tiermail_watcher_restarts\{service="mmp"[^}]*\} [1-9]/);
  assert.match(m, /tiermail_watcher_disk_free_percent\{what="relay spool"/);
});

test('kill -9 of the store: restarted with an alarm; a SIGSTOPped relay is found by its probe and restarted', async () => {
  const before = await status();
  process.kill(svc(before, 'store').pid!, 'SIGKILL');
  await until('store restarted and healthy', (s) => svc(s, 'store').restarts === 1 && healthy(s, 'store'));
  assert.ok((await status()).alarms.some((a) => a.service === 'store' && a.kind === 'restarted'));

  const relayPid = svc(await status(), 'relay').pid!;
  process.kill(-relayPid, 'SIGSTOP');
  await until('relay restarted after its probe failed', (s) => svc(s, 'relay').restarts === 1 && healthy(s, 'relay') && svc(s, 'relay').pid !== relayPid, 30000);
  assert.ok((await status()).alarms.some((a) => a.service === 'relay' && a.kind === 'probe-failed'));
  // The alarms also went to the webhook and, through the relay, to the postmaster's mailbox.
  assert.ok(hook.received.some((a) => a.service === 'store' && a.kind === 'restarted' && a.host === 'h1'));
  const cfg = loadConfig({ file: configFile, host: 'h1' }).config;
  const subjects = await (async () => {
    const end = Date.now() + 20000;
    for (;;) {
      const store = MessageStore.open(cfg.store);
      let found: string[] = [];
      try {
        if (store.hasUser('alice@example.test')) {
          const m = store.openUser('alice@example.test');
          found = m.messages('INBOX').map((x) => /Subject: ([^\r\n]*)/.exec(readFileSync(m.readMessage('INBOX', x.uid).path, 'latin1'))?.[1] ?? '');
          m.close();
        }
      } finally {
        store.close();
      }
      if (found.some((s) => s.includes('store restarted')) || Date.now() > end) return found;
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  assert.ok(subjects.some((s) => /\[tiermail tiermail\] store restarted on h1/.test(s)), subjects.join(' | '));
});

test('maintenance mode: a killed service is not restarted until maintenance ends', async () => {
  const on = await runCli(['-c', configFile, '--host', 'h1', 'maintenance', 'on']);
  assert.equal(on.code, 0, on.stderr);
  const pid = svc(await status(), 'mmp').pid!;
  process.kill(pid, 'SIGKILL');
  await until('mmp down', (s) => svc(s, 'mmp').state === 'down');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(svc(await status(), 'mmp').state, 'down', 'still down during maintenance');
  assert.equal((await runCli(['-c', configFile, '--host', 'h1', 'maintenance', 'off'])).code, 0);
  await until('mmp back', (s) => healthy(s, 'mmp') && svc(s, 'mmp').pid !== pid);
});

test('a service that keeps dying is left down with an alarm; SIGTERM stops everything', async () => {
  for (let i = 0; i < 2; i++) {
    const s = await until('store running', (st) => healthy(st, 'store') && svc(st, 'store'));
    process.kill(s.pid!, 'SIGKILL');
    await until('store noticed', (st) => svc(st, 'store').pid !== s.pid);
  }
  await until('store given up', (s) => svc(s, 'store').state === 'failed');
  assert.ok((await status()).alarms.some((a) => a.service === 'store' && a.kind === 'gave-up'));
  const pids = (await status()).services.map((s) => s.pid).filter((p): p is number => p !== null);
  watcher.kill('SIGTERM');
  await new Promise((r) => watcher.once('exit', r));
  for (const pid of pids) assert.throws(() => process.kill(pid, 0), 'every service stopped');
});

interface HistoryAnswer {
  samples: Array<{ queue: { lmtp: number }; connections: { store: number | null; relay: number | null; mmp: number | null } }>;
}

async function waitForHistory(n: number): Promise<HistoryAnswer> {
  const until = Date.now() + 20000;
  for (;;) {
    const h = (await (await fetch(`http://127.0.0.1:${statusPort}/history`)).json()) as HistoryAnswer;
    const last = h.samples.at(-1);
    const complete = last && last.connections.relay !== null && last.connections.store !== null && last.connections.mmp !== null;
    if ((h.samples.length >= n && complete) || Date.now() > until) return h;
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Debian's chromium (installed by scripts/setup.mjs for the tests). */
function chromiumPath(): string {
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) if (existsSync(p)) return p;
  throw new Error('chromium is not installed (npm test installs it: apt-get install chromium)');
}
