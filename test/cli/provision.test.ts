// Provisioning round trip against a real slapd: every change made with the `tiermail` command
// is checked through @tiermail/core's Directory, as the relay and the MMP will see it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Directory, loadConfig, type DirectoryConfig } from '@tiermail/core';
import { startSlapd, type SlapdHandle } from '../harness/slapd.js';
import { runCli } from '../harness/cli.js';

let slapd: SlapdHandle;
let configFile: string;
let directoryConfig: DirectoryConfig;

before(async () => {
  slapd = await startSlapd({ demo: true, mailHost: 'store1' });
  configFile = join(mkdtempSync(join(tmpdir(), 'tm-provision-')), 'tiermail.yaml');
  writeFileSync(
    configFile,
    stringify({
      deployment: { postmaster: 'postmaster@example.test' },
      hosts: { store1: { roles: ['store'], address: '127.0.0.1' }, relay1: { roles: ['relay'], address: '127.0.0.1' } },
      directory: { urls: [slapd.url], baseDn: slapd.suffix, bindDn: slapd.adminDn, bindPassword: slapd.adminPassword, defaultDomain: 'example.test', timeoutMs: 3000 },
      redis: { mode: 'single', host: '127.0.0.1', port: 6379 },
    }),
  );
  directoryConfig = loadConfig({ file: configFile }).config.directory;
});

after(async () => {
  await slapd?.stop();
});

const cli = (...args: string[]) => runCli(['-c', configFile, ...args]);
const cliIn = (input: string, ...args: string[]) => runCli(['-c', configFile, ...args], {}, input);

/** A fresh Directory each time, so nothing comes from a cache. */
async function lookup<T>(fn: (d: Directory) => Promise<T>): Promise<T> {
  const d = new Directory(directoryConfig);
  try {
    return await fn(d);
  } finally {
    await d.close();
  }
}

test('domain add and list', async () => {
  const add = await cli('domain', 'add', 'Example.ORG', '--quota', '2G');
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stdout, /added domain example\.org \(o=example\.org,o=tiermail\)/);
  const again = await cli('domain', 'add', 'example.org');
  assert.equal(again.code, 1);
  assert.match(again.stderr, /domain example\.org exists already/);
  const list = await cli('--json', 'domain', 'list');
  const domains = (JSON.parse(list.stdout) as Array<{ associatedDomain: string }>).map((d) => d.associatedDomain);
  assert.deepEqual(domains, ['example.org', 'example.test']);
  const d = await lookup((dir) => dir.findDomain('example.org'));
  assert.equal(d?.defaultUserQuotaBytes, 2 * 1024 ** 3);
  assert.match((await cli('domain', 'add', 'not a domain')).stderr, /expected a domain name/);
});

test('user add with quota, show, passwd, set forwarding, delete: each visible through the directory', async () => {
  const add = await cliIn('first-password-1\n', 'user', 'add', 'carol@example.org', '--password-stdin', '--quota', '500M', '--cn', 'Carol Diaz', '--alternate', 'c.diaz@example.org');
  assert.equal(add.code, 0, add.stderr);
  let user = await lookup((d) => d.findUserByAddress('c.diaz@example.org'));
  assert.equal(user?.uid, 'carol');
  assert.equal(user?.mailHost, 'store1', 'the only store host of the config is the default mailHost');
  assert.equal(user?.quotaBytes, 500 * 1024 * 1024);
  assert.deepEqual(user?.deliveryOptions, ['mailbox']);
  assert.ok(await lookup((d) => d.authenticate('carol@example.org', 'first-password-1')));

  const show = await cli('--json', 'user', 'show', 'carol@example.org');
  const shown = JSON.parse(show.stdout) as Record<string, unknown>;
  assert.equal(shown.cn, 'Carol Diaz');
  assert.equal(shown.userPassword, undefined, 'the hash is never shown');

  assert.equal((await cliIn('second-password-2\n', 'user', 'passwd', 'carol@example.org', '--password-stdin')).code, 0);
  assert.equal(await lookup((d) => d.authenticate('carol@example.org', 'first-password-1')), null);
  assert.ok(await lookup((d) => d.authenticate('carol@example.org', 'second-password-2')));

  const set = await cli('user', 'set', 'carol@example.org', 'mailDeliveryOption=mailbox,forward', 'mailForwardingAddress=carol@elsewhere.example', 'mailQuota=1G', '+mailAlternateAddress=cd@example.org');
  assert.equal(set.code, 0, set.stderr);
  user = await lookup((d) => d.findUserByAddress('cd@example.org'));
  assert.deepEqual(user?.deliveryOptions.slice().sort(), ['forward', 'mailbox']);
  assert.deepEqual(user?.forwardingAddresses, ['carol@elsewhere.example']);
  assert.equal(user?.quotaBytes, 1024 ** 3);

  const del = await cli('user', 'delete', 'carol@example.org');
  assert.equal(del.code, 0, del.stderr);
  assert.equal(await lookup((d) => d.findUserByAddress('carol@example.org')), null);
  assert.equal((await cli('user', 'show', 'carol@example.org')).code, 1);
});

test('provisioning refuses bad input with a message naming it, and never reuses an address', async () => {
  const dup = await cliIn('long-enough-pw\n', 'user', 'add', 'alice.smith@example.test', '--password-stdin', '--uid', 'alice2');
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /alice\.smith@example\.test is already used by uid=alice,/);
  const short = await cliIn('short\n', 'user', 'add', 'dave@example.test', '--password-stdin');
  assert.match(short.stderr, /password: expected at least 8 characters/);
  const nodomain = await cliIn('long-enough-pw\n', 'user', 'add', 'x@nowhere.example', '--password-stdin');
  assert.match(nodomain.stderr, /no such domain nowhere\.example; add it with: tiermail domain add nowhere\.example/);
  const badQuota = await cli('user', 'set', 'bob@example.test', 'mailQuota=lots');
  assert.equal(badQuota.code, 1);
  assert.match(badQuota.stderr, /mailQuota "lots": expected a size such as 500M/);
  const unknownAttr = await cli('user', 'set', 'bob@example.test', 'homeDirectory=/tmp');
  assert.match(unknownAttr.stderr, /unknown attribute homeDirectory; settable: /);
  const steal = await cli('user', 'set', 'bob@example.test', '+mailAlternateAddress=alice@example.test');
  assert.match(steal.stderr, /alice@example\.test is already used by uid=alice,/);
  const nopw = await cli('user', 'add', 'erin@example.test');
  assert.equal(nopw.code, 2);
  assert.match(nopw.stderr, /give --password-stdin/);
});

test('groups: add with members by address and DN, edit members, resolved through the directory', async () => {
  const bobDn = 'uid=bob,ou=People,o=example.test,o=tiermail';
  const add = await cli('group', 'add', 'team@example.test', '--member', 'alice@example.test', '--member', bobDn);
  assert.equal(add.code, 0, add.stderr);
  let group = await lookup((d) => d.findGroup('team@example.test'));
  assert.deepEqual(group?.rfc822Members, ['alice@example.test']);
  assert.deepEqual(group?.memberDns, [bobDn]);
  const members = await lookup(async (d) => d.resolveGroupMembers((await d.findGroup('team@example.test'))!));
  assert.deepEqual(members.users.map((u) => u.uid), ['bob']);

  const edit = await cli('--json', 'group', 'members', 'team@example.test', '--add', 'ext@partner.example', '--remove', bobDn);
  assert.equal(edit.code, 0, edit.stderr);
  assert.deepEqual((JSON.parse(edit.stdout) as { members: string[] }).members, ['alice@example.test', 'ext@partner.example']);
  group = await lookup((d) => d.findGroup('team@example.test'));
  assert.deepEqual(group?.memberDns, []);

  const empty = await cli('group', 'add', 'empty@example.test');
  assert.equal(empty.code, 0, empty.stderr);
  assert.equal((await cli('group', 'members', 'empty@example.test')).stdout.trim(), '(no members)');
  assert.equal((await cli('group', 'members', 'nosuch@example.test')).code, 1);
});
