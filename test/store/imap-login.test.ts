// Logging in to the store's IMAP server: STARTTLS and LOGINDISABLED, implicit TLS, proxy
// logins from the MMP (SASL PLAIN with authzid) only from trusted addresses and only for the
// proxy admin, and accounts that are not active or not allowed IMAP. Real slapd, real sockets,
// imapflow as the client where a client library can show it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { Provisioner } from '@tiermail/core';
import { UserSessionLimit } from '@tiermail/store/access/user-limit';
import { testCert } from '../harness/tls.js';
import { deliver, RawImap, rfc822, startImapFixture, type ImapFixture } from './imap-helpers.js';

let fx: ImapFixture;
let tlsOnly: ImapFixture;
let implicit: ImapFixture;

before(async () => {
  const cert = testCert();
  fx = await startImapFixture({ tls: cert.options, authFailureDelayMs: 10 });
  tlsOnly = await startImapFixture({ tls: cert.options, authFailureDelayMs: 10 }, { plaintextAuth: 'never', proxyTrustedNetworks: [] });
  implicit = await startImapFixture({ tls: cert.options, implicitTls: true });
  await deliver(fx.store, 'alice@example.test', rfc822('for alice'));
});
after(async () => {
  await Promise.all([fx.stop(), tlsOnly.stop(), implicit.stop()]);
});

const plain = (authzid: string, authcid: string, password: string): string => Buffer.from(`${authzid}\0${authcid}\0${password}`).toString('base64');

test('without TLS and plaintextAuth never: STARTTLS and LOGINDISABLED offered, passwords refused until TLS', async () => {
  const { client, greeting } = await RawImap.open(tlsOnly.port);
  assert.match(greeting, /^\* OK \[CAPABILITY IMAP4rev1 .*STARTTLS LOGINDISABLED\]/);
  assert.doesNotMatch(greeting, /AUTH=PLAIN/);
  assert.deepEqual(await client.command('a', 'LOGIN alice demo-password'), ['a NO [PRIVACYREQUIRED] Log in after STARTTLS']);
  assert.deepEqual(await client.command('b', `AUTHENTICATE PLAIN ${plain('', 'alice', 'demo-password')}`), [
    'b NO [PRIVACYREQUIRED] Authenticate after STARTTLS',
  ]);
  // Commands pipelined after STARTTLS were sent in clear: they must be dropped, not run.
  client.write('c STARTTLS\r\nd LOGIN alice demo-password\r\n');
  assert.deepEqual(await client.tagged('c'), ['c OK Begin TLS negotiation now']);
  const secure = await client.startTls();
  const caps = await secure.command('e', 'CAPABILITY');
  assert.match(caps[0]!, /^\* CAPABILITY IMAP4rev1 .*AUTH=PLAIN$/);
  assert.doesNotMatch(caps[0]!, /STARTTLS|LOGINDISABLED/);
  assert.deepEqual(await secure.command('f', 'STARTTLS'), ['f BAD STARTTLS is not available on this connection']);
  const login = await secure.command('g', 'LOGIN alice demo-password');
  assert.match(login.at(-1)!, /^g OK \[CAPABILITY .*\] Logged in$/);
  assert.ok(!login.some((l) => l.startsWith('d ')), 'the injected LOGIN was not answered');
  secure.close();
});

test('imapflow logs in over STARTTLS and over implicit TLS', async () => {
  for (const [port, secure] of [
    [tlsOnly.port, false],
    [implicit.port, true],
  ] as const) {
    const client = new ImapFlow({
      host: '127.0.0.1',
      port,
      secure,
      doSTARTTLS: secure ? undefined : true,
      tls: { rejectUnauthorized: false },
      auth: { user: 'alice@example.test', pass: 'demo-password' },
      logger: false,
    });
    await client.connect();
    assert.ok(client.authenticated);
    const status = await client.status('INBOX', { messages: true });
    assert.ok(status && typeof status.messages === 'number');
    await client.logout();
  }
});

test('proxy login: the proxy admin acts as the user from a trusted address', async () => {
  const { client } = await RawImap.open(fx.port, '127.0.0.1');
  const reply = await client.command('a', `AUTHENTICATE PLAIN ${plain('alice@example.test', 'mmp-proxy', 'demo-proxy-password')}`);
  assert.match(reply.at(-1)!, /^a OK \[CAPABILITY .*\] Logged in$/);
  const select = await client.command('b', 'SELECT INBOX');
  assert.ok(select.includes('* 1 EXISTS'), select.join('\n'));
  client.close();
});

test('proxy login is refused from an untrusted address, for a non-admin, and with a wrong admin password', async () => {
  const { client: far } = await RawImap.open(fx.port, '127.0.0.2');
  assert.deepEqual(await far.command('a', `AUTHENTICATE PLAIN ${plain('alice', 'mmp-proxy', 'demo-proxy-password')}`), [
    'a NO [AUTHORIZATIONFAILED] Not authorized to act as that user',
  ]);
  far.close();
  const { client } = await RawImap.open(fx.port, '127.0.0.1');
  assert.deepEqual(await client.command('b', `AUTHENTICATE PLAIN ${plain('alice', 'bob', 'demo-password')}`), [
    'b NO [AUTHORIZATIONFAILED] Not authorized to act as that user',
  ]);
  assert.deepEqual(await client.command('c', `AUTHENTICATE PLAIN ${plain('alice', 'mmp-proxy', 'wrong')}`), [
    'c NO [AUTHENTICATIONFAILED] Authentication failed',
  ]);
  client.close();
});

test('accounts that are not active, or not allowed IMAP, are refused with CONTACTADMIN', async () => {
  const prov = new Provisioner(fx.directoryConfig);
  try {
    await prov.addUser({ address: 'held@example.test', password: 'held-password', mailHost: 'localhost' });
    await prov.setUser('held@example.test', [{ attribute: 'mailUserStatus', operation: 'replace', values: ['hold'] }]);
    await prov.addUser({ address: 'nopop@example.test', password: 'nopop-password', mailHost: 'localhost' });
    await prov.setUser('nopop@example.test', [{ attribute: 'mailAllowedServiceAccess', operation: 'replace', values: ['-imap:*'] }]);
  } finally {
    await prov.close();
  }
  const { client } = await RawImap.open(fx.port);
  assert.deepEqual(await client.command('a', 'LOGIN held held-password'), ['a NO [CONTACTADMIN] Account not available; contact your administrator']);
  assert.deepEqual(await client.command('b', 'LOGIN nopop nopop-password'), ['b NO [CONTACTADMIN] Account not available; contact your administrator']);
  client.close();
});

test('store.maxConnectionsPerUser: the session over the limit is refused with LIMIT, a freed slot is reusable', async () => {
  const limited = await startImapFixture({ userLimit: new UserSessionLimit(2), authFailureDelayMs: 10 });
  try {
    const clients: RawImap[] = [];
    for (let i = 0; i < 2; i++) {
      const { client } = await RawImap.open(limited.port);
      assert.match((await client.command('a', 'LOGIN alice demo-password')).at(-1)!, /^a OK/);
      clients.push(client);
    }
    const { client: third } = await RawImap.open(limited.port);
    assert.deepEqual(await third.command('b', 'LOGIN alice demo-password'), ['b NO [LIMIT] Too many connections for this user']);
    // Another user is not affected.
    assert.match((await third.command('c', 'LOGIN bob demo-password')).at(-1)!, /^c OK/);
    await clients[0]!.command('d', 'LOGOUT');
    const { client: fourth } = await RawImap.open(limited.port);
    assert.match((await fourth.command('e', 'LOGIN alice demo-password')).at(-1)!, /^e OK/);
    for (const c of [...clients, third, fourth]) c.close();
  } finally {
    await limited.stop();
  }
});
