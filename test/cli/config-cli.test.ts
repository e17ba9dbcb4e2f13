// The `tiermail config` commands as an operator runs them: a real process, exit codes, output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../harness/paths.js';
import { runCli } from '../harness/cli.js';

function localCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tm-cli-config-'));
  const file = join(dir, 'tiermail.yaml');
  copyFileSync(join(repoRoot, 'deploy', 'config', 'local.yaml'), file);
  return file;
}

test('config check accepts the local stack config', async () => {
  const file = localCopy();
  const r = await runCli(['-c', file, 'config', 'check']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /: ok\nhosts: localhost \(relay, store, mmp, watcher\)/);
});

test('config check names the bad key, the value and the expectation, exit 1', async () => {
  const file = localCopy();
  const r = await runCli(['-c', file, 'config', 'check'], { TIERMAIL_DIRECTORY__URLS: '[ftp://x]' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /directory\.urls\[0\]: "ftp:\/\/x": expected an ldap:\/\/ or ldaps:\/\/ URL/);
});

test('config set / get / history / diff / rollback from the command line', async () => {
  const file = localCopy();
  const cli = (...args: string[]) => runCli(['-c', file, ...args]);
  assert.equal((await cli('config', 'set', 'directory.cache.ttl_ms', '1234')).code, 0);
  const got = await cli('--json', 'config', 'get', 'directory.cache.ttlMs');
  assert.equal(JSON.parse(got.stdout), 1234);
  const bad = await cli('config', 'set', 'redis.port', 'seventy');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /redis\.port: "seventy": expected number/);
  const hist = await cli('--json', 'config', 'history');
  const versions = JSON.parse(hist.stdout) as Array<{ version: number; action: string }>;
  assert.deepEqual(versions.map((v) => v.action), ['before change', 'set directory.cache.ttlMs']);
  const diff = await cli('config', 'diff');
  assert.match(diff.stdout, /\+\s+ttlMs: 1234/);
  assert.equal((await cli('config', 'rollback', '1')).code, 0);
  assert.equal(JSON.parse((await cli('--json', 'config', 'get', 'directory.cache.ttlMs')).stdout), 60000);
  const none = await cli('config', 'get', 'directory.nosuch');
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no such config key: directory\.nosuch/);
});

test('an unknown command is a usage error, not a crash', async () => {
  const r = await runCli(['frobnicate']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
});
