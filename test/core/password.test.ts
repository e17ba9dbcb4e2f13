// Password hashes: ours verify, OpenLDAP's verify, and slapd accepts ours for a bind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Attribute, Change, Client, InvalidCredentialsError } from 'ldapts';
import { hashPassword, passwordScheme, verifyPassword } from '@tiermail/core/password';
import { demoDns } from '@tiermail/core/slapd/index';
import { startSlapd, type SlapdHandle } from '../harness/slapd.js';

test('hashPassword makes salted SSHA512 that verifies', () => {
  const a = hashPassword('correct horse');
  const b = hashPassword('correct horse');
  assert.match(a, /^\{SSHA512\}[A-Za-z0-9+/]+=*$/);
  assert.equal(Buffer.from(a.slice(9), 'base64').length, 64 + 16);
  assert.notEqual(a, b, 'a fresh salt each time');
  assert.equal(verifyPassword('correct horse', a), true);
  assert.equal(verifyPassword('correct horse', b), true);
  assert.equal(verifyPassword('Correct horse', a), false);
  assert.equal(verifyPassword('', a), false);
  assert.equal(passwordScheme(a), 'SSHA512');
});

test('verifyPassword refuses clear text, unknown schemes and damaged values', () => {
  assert.equal(verifyPassword('secret', 'secret'), false);
  assert.equal(verifyPassword('secret', '{CLEARTEXT}secret'), false);
  assert.equal(verifyPassword('secret', '{MD5}Xr4ilOzQ4PCOq3aQ0qbuaQ=='), false);
  assert.equal(verifyPassword('secret', '{SSHA512}'), false);
  assert.equal(verifyPassword('secret', '{SSHA512}not base64!'), false);
  assert.equal(verifyPassword('secret', '{SHA512}AAAA'), false);
});

test('hashes made by slappasswd verify: {SSHA}, {SHA}, {SSHA512}, {SHA512}', () => {
  for (const scheme of ['{SSHA}', '{SHA}', '{SSHA512}', '{SHA512}']) {
    const args = ['-h', scheme, '-s', 'p@ss wörd'];
    if (scheme.includes('512')) args.unshift('-o', 'module-load=pw-sha2');
    const stored = execFileSync('/usr/sbin/slappasswd', args, { encoding: 'utf8' }).trim();
    assert.ok(stored.startsWith(scheme), stored);
    assert.equal(verifyPassword('p@ss wörd', stored), true, scheme);
    assert.equal(verifyPassword('p@ss word', stored), false, scheme);
    assert.equal(verifyPassword('p@ss wörd', stored.replace(scheme, scheme.toLowerCase())), true, 'scheme case');
  }
});

describe('slapd and hashPassword', () => {
  let slapd: SlapdHandle;
  before(async () => {
    slapd = await startSlapd({ demo: true });
  });
  after(async () => {
    await slapd?.stop();
  });

  test('slapd accepts a bind with a password stored by hashPassword', async () => {
    const dn = demoDns().alice;
    const admin = new Client({ url: slapd.url, timeout: 5000 });
    await admin.bind(slapd.adminDn, slapd.adminPassword);
    await admin.modify(dn, [
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'userPassword', values: [hashPassword('s3cret, really')] }),
      }),
    ]);
    await admin.unbind();

    const user = new Client({ url: slapd.url, timeout: 5000 });
    await user.bind(dn, 's3cret, really');
    await user.unbind();
    const wrong = new Client({ url: slapd.url, timeout: 5000 });
    await assert.rejects(wrong.bind(dn, 's3cret'), InvalidCredentialsError);
    await wrong.unbind();
  });
});
