// The example configs in deploy/config are valid: each loads for every host it names, and the
// role examples hold the role their name says for the host they are written for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '@tiermail/core';
import { repoRoot } from '../harness/paths.js';

const dir = join(repoRoot, 'deploy', 'config');

test('every example config loads for each of its hosts', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 5, files.join(', '));
  for (const f of files) {
    const { config } = loadConfig({ file: join(dir, f), env: {} });
    for (const host of Object.keys(config.hosts)) assert.doesNotThrow(() => loadConfig({ file: join(dir, f), host, env: {} }), `${f} --host ${host}`);
  }
});

test('the role examples: a relay host, a store host, an MMP host, and all-in-one', () => {
  const roles = (f: string, host: string) => loadConfig({ file: join(dir, f), host, env: {} }).config.hosts[host]?.roles ?? [];
  assert.ok(roles('relay-host.yaml', 'relay1').includes('relay'));
  assert.ok(roles('store-host.yaml', 'store1').includes('store'));
  assert.ok(roles('mmp-host.yaml', 'mmp1').includes('mmp'));
  assert.deepEqual(roles('all-in-one.yaml', 'mail1').sort(), ['mmp', 'relay', 'store', 'watcher']);
  // Production examples never allow passwords in clear.
  for (const f of ['relay-host.yaml', 'all-in-one.yaml']) assert.equal(loadConfig({ file: join(dir, f), env: {} }).config.relay.plaintextAuth, 'never');
});
