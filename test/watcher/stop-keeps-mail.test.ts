// `tiermail stop` drains the relay without losing what it holds: a message queued for a store
// that is down stays in the spool across the stop, and the next `tiermail start` delivers it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { stringify } from 'yaml';
import type { WatcherStatus } from '@tiermail/watcher';
import { runCli } from '../harness/cli.js';
import { freePort } from '../harness/ports.js';
import { startRedis, type RedisHandle } from '../harness/redis.js';
import { startSlapd, type SlapdHandle } from '../harness/slapd.js';
import { startStore, type StoreHandle } from '../harness/store.js';
import { inbox, waitFor } from '../mta/helpers.js';

let slapd: SlapdHandle;
/** Stops the watcher this test started, even when the test failed half-way. */
let stopWatcher: () => Promise<unknown> = async () => undefined;
let redis: RedisHandle;
let store: StoreHandle;
before(async () => {
  [slapd, redis] = await Promise.all([startSlapd({ demo: true, mailHost: 'store1' }), startRedis()]);
  store = await startStore({ workers: 1, redisPort: redis.port });
  await store.stop(); // down while the mail arrives
});
after(async () => {
  await stopWatcher().catch(() => undefined);
  await store?.stop().catch(() => undefined);
  await store?.cleanup();
  await redis?.stop();
  await slapd?.stop();
});

test('tiermail stop keeps queued mail in the spool; the next tiermail start delivers it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tm-stopmail-'));
  const configFile = join(dir, 'tiermail.yaml');
  const smtpPort = await freePort();
  const p = async () => ({ host: '127.0.0.1', port: await freePort() });
  writeFileSync(
    configFile,
    stringify({
      deployment: { postmaster: 'postmaster@example.test' },
      hosts: {
        r1: { roles: ['relay', 'watcher'], address: '127.0.0.1' },
        store1: { roles: ['store'], address: '127.0.0.1', overrides: { store: { lmtp: { port: store.port } } } },
      },
      directory: { urls: [slapd.url], baseDn: 'o=tiermail', bindDn: slapd.adminDn, bindPassword: slapd.adminPassword, defaultDomain: 'example.test' },
      redis: { mode: 'single', host: '127.0.0.1', port: redis.port, keyPrefix: 'tmstop:' },
      paths: { var: join(dir, 'var'), log: join(dir, 'log'), run: join(dir, 'run') },
      log: { level: 'warn' },
      metrics: { listen: await p(), services: { relay: await freePort() } },
      relay: { smtp: { host: '127.0.0.1', port: smtpPort }, submission: await p(), workers: 1, channels: { lmtp: { retrySeconds: [5] } } },
      watcher: { listen: await p(), probeIntervalMs: 300, stopTimeoutMs: 15000, alarmMail: false },
    }),
  );
  const cli = (...args: string[]) => runCli(['-c', configFile, '--host', 'r1', ...args]);
  stopWatcher = () => cli('stop');
  assert.equal((await cli('start')).code, 0);
  const relayUp = async (): Promise<boolean> => {
    const r = await cli('--json', 'status');
    return r.code === 0 && (JSON.parse(r.stdout) as WatcherStatus).services.every((s) => s.state === 'running' && s.lastProbe?.ok === true);
  };
  await waitFor('relay answering', relayUp, 30000);
  const t = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true });
  const info = await t.sendMail({ from: 'sender@example.org', to: 'alice@example.test', subject: 'kept across a stop', text: 'x' });
  const id = /queued as ([0-9A-Z]+)/.exec(info.response)![1]!;
  const envelope = join(dir, 'var', 'spool', 'queue', id.slice(-2).toLowerCase(), `${id}.json`);
  assert.ok(existsSync(envelope));

  const stopped = await cli('stop');
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.ok(existsSync(envelope), 'still in the spool after the stop');
  assert.equal(readdirSync(join(dir, 'var', 'spool', 'tmp')).length, 0, 'nothing half-written left behind');

  await store.start();
  assert.equal((await cli('start')).code, 0);
  // Delivered at its next scheduled try (5 s apart here), from the spool the stop left behind.
  await waitFor('delivered after the restart', () => inbox(store, 'alice@example.test').some((m) => m.text.includes('Subject: kept across a stop')), 30000);
  await waitFor('gone from the spool', () => !existsSync(envelope));
  assert.equal((await cli('stop')).code, 0);
});
