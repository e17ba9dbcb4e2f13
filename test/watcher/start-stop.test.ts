// `tiermail start` launches the watcher in the background (which starts the host's services),
// `tiermail status` sees them, `tiermail stop` drains and stops everything and the watcher.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { WatcherStatus } from '@tiermail/watcher';
import { runCli } from '../harness/cli.js';
import { freePort } from '../harness/ports.js';

test('tiermail start, status and stop', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tm-startstop-'));
  const configFile = join(dir, 'tiermail.yaml');
  const p = async () => ({ host: '127.0.0.1', port: await freePort() });
  writeFileSync(
    configFile,
    stringify({
      deployment: { postmaster: 'postmaster@example.test' },
      hosts: { s1: { roles: ['store', 'watcher'], address: '127.0.0.1' } },
      directory: { urls: ['ldap://127.0.0.1:1'], baseDn: 'o=tiermail', bindDn: 'cn=admin,o=tiermail', bindPassword: 'x', defaultDomain: 'example.test' },
      redis: { mode: 'single', host: '127.0.0.1', port: 1 },
      paths: { var: join(dir, 'var'), log: join(dir, 'log'), run: join(dir, 'run') },
      log: { level: 'warn' },
      metrics: { services: { store: await freePort() } },
      store: { lmtp: await p(), imap: await p(), pop3: null, workers: 1 },
      watcher: { listen: await p(), probeIntervalMs: 300, stopTimeoutMs: 10000, alarmMail: false },
    }),
  );
  const cli = (...args: string[]) => runCli(['-c', configFile, '--host', 's1', ...args]);
  const started = await cli('start');
  assert.equal(started.code, 0, started.stderr);
  assert.match(started.stdout, /watcher started \(pid \d+\)/);
  assert.match((await cli('start')).stdout, /a watcher already answers/);
  let st: WatcherStatus | undefined;
  const until = Date.now() + 30000;
  for (;;) {
    const r = await cli('--json', 'status');
    if (r.code === 0) {
      st = JSON.parse(r.stdout) as WatcherStatus;
      if (st.services[0]?.state === 'running' && st.services[0].lastProbe?.ok) break;
    }
    assert.ok(Date.now() < until, `store never healthy: ${r.stdout}${r.stderr}`);
    await new Promise((res) => setTimeout(res, 300));
  }
  const storePid = st!.services[0]!.pid!;
  const stopped = await cli('stop');
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.throws(() => process.kill(storePid, 0), 'the store stopped with the watcher');
  const after = await cli('status');
  assert.equal(after.code, 1);
  assert.match(after.stderr, /no watcher answers/);
});
