// The MMP's IMAP proxy against two real store processes and a real slapd: alice lives on
// store1 and bob on store2; both log in through one MMP with imapflow and see their own mail;
// a whole session (select, fetch, store, IDLE woken by an LMTP delivery) runs through the
// splice; wrong passwords, a store that is down, too many connections and junk get clear
// answers, and the MMP stays up.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { ImapFlow } from 'imapflow';
import { createLogger, Provisioner, type Config } from '@tiermail/core';
import { configSchema, directorySchema } from '@tiermail/core/config/schema';
import { startMmpService, type MmpService } from '@tiermail/mmp';
import { LmtpClient, message } from '../harness/lmtp-client.js';
import { runPython } from '../harness/python.js';
import { startSlapd, type SlapdHandle } from '../harness/slapd.js';
import { startStore, type StoreHandle } from '../harness/store.js';

let slapd: SlapdHandle;
let storeA: StoreHandle;
let storeB: StoreHandle;
let mmp: MmpService;
let port: number;
const logLines: string[] = [];

const proxyAuth = { proxyAuth: { admins: ['mmp-proxy'], trustedNetworks: ['127.0.0.1/32'] } };

async function deliver(store: StoreHandle, to: string, subject: string): Promise<void> {
  const { client } = await LmtpClient.open(store.port);
  await client.command('LHLO test');
  const r = await client.transaction('s@example.org', [`<${to}>`], message(subject));
  assert.match(r.data[0] ?? '', /^250/);
  await client.close();
}

before(async () => {
  slapd = await startSlapd({ demo: true, mailHost: 'store1' });
  const dirCfg = directorySchema.parse({ urls: [slapd.url], baseDn: slapd.suffix, bindDn: slapd.adminDn, bindPassword: slapd.adminPassword, defaultDomain: 'example.test' });
  const prov = new Provisioner(dirCfg);
  await prov.setUser('bob@example.test', [{ attribute: 'mailHost', operation: 'replace', values: ['store2'] }]);
  await prov.close();
  storeA = await startStore({ workers: 1, ldapUrl: slapd.url, store: proxyAuth });
  storeB = await startStore({ workers: 1, ldapUrl: slapd.url, store: proxyAuth });
  await deliver(storeA, 'alice@example.test', 'for alice');
  await deliver(storeB, 'bob@example.test', 'for bob');
  const config: Config = configSchema.parse({
    deployment: { postmaster: 'postmaster@example.test' },
    hosts: {
      store1: { roles: ['store'], address: '127.0.0.1', overrides: { store: { imap: { port: storeA.imapPort }, pop3: { port: storeA.pop3Port } } } },
      store2: { roles: ['store'], address: '127.0.0.1', overrides: { store: { imap: { port: storeB.imapPort }, pop3: { port: storeB.pop3Port } } } },
      mmp1: { roles: ['mmp'], address: '127.0.0.1' },
    },
    directory: { urls: [slapd.url], baseDn: slapd.suffix, bindDn: slapd.adminDn, bindPassword: slapd.adminPassword, defaultDomain: 'example.test' },
    redis: { mode: 'single', host: '127.0.0.1', port: 1 },
    log: { level: 'silent' },
    mmp: {
      imap: { host: '127.0.0.1', port: 0 },
      pop3: { host: '127.0.0.1', port: 0 },
      proxyAdmin: { user: 'mmp-proxy', password: 'demo-proxy-password' },
      authFailureDelayMs: 100,
      connectTimeoutMs: 2000,
      maxConnectionsPerIp: 20,
    },
  });
  mmp = await startMmpService({ config, host: 'mmp1', logger: createLogger({ service: 'mmp', host: 'mmp1', stream: { write: (l: string) => void logLines.push(l) } }) });
  port = mmp.imapPort!;
});
after(async () => {
  await mmp?.stop(1000);
  await storeA?.cleanup();
  await storeB?.cleanup();
  await slapd?.stop();
});

const flow = (user: string, pass = 'demo-password') => new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user, pass }, logger: false });

async function subjects(c: ImapFlow): Promise<string[]> {
  const out: string[] = [];
  const lock = await c.getMailboxLock('INBOX');
  try {
    for await (const m of c.fetch('1:*', { envelope: true })) out.push(m.envelope?.subject ?? '');
  } finally {
    lock.release();
  }
  return out;
}

test('alice and bob log in through one MMP and each sees the mail of their own store', async () => {
  const a = flow('alice');
  const b = flow('bob@example.test');
  await a.connect();
  await b.connect();
  try {
    // The capabilities after login are the store's.
    assert.ok(a.capabilities.has('CONDSTORE') && a.capabilities.has('MOVE'));
    assert.deepEqual(await subjects(a), ['for alice']);
    assert.deepEqual(await subjects(b), ['for bob']);
  } finally {
    await a.logout();
    await b.logout();
  }
});

test('a whole session through the splice: select, fetch, store, IDLE woken by a delivery', async () => {
  const c = flow('alice');
  await c.connect();
  try {
    const lock = await c.getMailboxLock('INBOX');
    try {
      await c.messageFlagsAdd('1', ['\\Flagged']);
      const m = await c.fetchOne('1', { flags: true, source: true });
      assert.ok(m && m.flags?.has('\\Flagged') && m.source?.toString().includes('Subject: for alice'));
      const exists = new Promise<number>((resolve) => c.on('exists', (d: { count: number }) => resolve(d.count)));
      const idling = c.idle();
      await new Promise((r) => setTimeout(r, 200));
      await deliver(storeA, 'alice@example.test', 'during idle');
      assert.equal(await exists, 2);
      await c.noop();
      await idling.catch(() => undefined);
    } finally {
      lock.release();
    }
  } finally {
    await c.logout();
  }
});

function raw(): Promise<{ send(t: string): void; read(re: RegExp, ms?: number): Promise<string>; close(): void }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    let buf = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (buf += d));
    s.on('error', () => undefined);
    s.once('connect', () =>
      resolve({
        send: (t) => s.write(t),
        async read(re, ms = 5000) {
          const until = Date.now() + ms;
          while (!re.test(buf) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
          return buf;
        },
        close: () => s.destroy(),
      }),
    );
    s.once('error', reject);
  });
}

test('wrong password: NO after the delay; a store that is down: NO [UNAVAILABLE] quickly', async () => {
  const c = await raw();
  await c.read(/^\* OK/);
  const t0 = Date.now();
  c.send('a LOGIN alice wrong\r\n');
  assert.match(await c.read(/a NO/), /a NO \[AUTHENTICATIONFAILED\] Authentication failed/);
  assert.ok(Date.now() - t0 >= 100);
  c.close();
  // A second failure for the same user, on another connection, waits longer; both are logged
  // with the client address (never the password).
  const c2 = await raw();
  await c2.read(/^\* OK/);
  const t2 = Date.now();
  c2.send('a LOGIN alice wrong-again\r\n');
  await c2.read(/a NO/);
  assert.ok(Date.now() - t2 >= 200, `second failure waited ${Date.now() - t2} ms`);
  c2.close();
  const failed = logLines.filter((l) => l.includes('mmp login failed')).map((l) => JSON.parse(l) as { remote: string; user: string });
  assert.ok(failed.length >= 2 && failed.every((f) => f.remote === '127.0.0.1' && f.user === 'alice'));
  assert.ok(!logLines.some((l) => l.includes('wrong-again')), 'no password in the log');

  await storeB.stop();
  try {
    const d = await raw();
    await d.read(/^\* OK/);
    const t1 = Date.now();
    d.send('b LOGIN bob demo-password\r\n');
    assert.match(await d.read(/b NO/), /b NO \[UNAVAILABLE\] Your mailbox is not available right now/);
    assert.ok(Date.now() - t1 < 4000);
    d.close();
  } finally {
    await storeB.start();
  }
});

test('pre-auth: literals, junk and limits answered; the 21st connection from one address refused', async () => {
  const c = await raw();
  c.send('x1 LOGIN {5}\r\n');
  await c.read(/\+ Ready/);
  c.send('alice {13+}\r\ndemo-password\r\n');
  assert.match(await c.read(/x1 OK/), /x1 OK \[CAPABILITY IMAP4rev1 [^\]]*\] Logged in/);
  c.send('x2 SELECT INBOX\r\n');
  assert.match(await c.read(/x2 OK/), /x2 OK \[READ-WRITE\]/);
  c.close();

  const j = await raw();
  j.send('\u0000\u0001junk\r\nz9 FROB\r\n');
  const junk = await j.read(/z9 BAD/);
  assert.match(junk, /\* BAD /);
  assert.match(junk, /z9 BAD FROB is not allowed before login/);
  j.send(`y ${'x'.repeat(9000)}`);
  assert.match(await j.read(/too long/), /\* BAD Command line too long/);
  j.close();

  const held = [];
  for (let i = 0; i < 20; i++) held.push(await raw());
  const extra = await raw();
  assert.match(await extra.read(/BYE/), /\* BYE Too many connections from your address/);
  for (const h of held) h.close();
  extra.close();
  await new Promise((r) => setTimeout(r, 200));
  const ok = flow('alice');
  await ok.connect();
  await ok.logout();
});

test('POP3 through the MMP: alice and bob each read their own store with poplib; a wrong password is refused', async () => {
  const script = `
import poplib, json, sys
out = {}
for user in ['alice', 'bob@example.test']:
    p = poplib.POP3('127.0.0.1', int(sys.argv[1]))
    p.user(user)
    out[user + '-pass'] = p.pass_('demo-password').decode()
    lines = p.retr(1)[1]
    out[user] = [l.decode() for l in lines if l.startswith(b'Subject:')][0]
    p.quit()
p = poplib.POP3('127.0.0.1', int(sys.argv[1]))
p.user('alice')
try:
    p.pass_('wrong')
    out['wrong'] = 'accepted'
except poplib.error_proto as e:
    out['wrong'] = e.args[0].decode()
print(json.dumps(out))
`;
  const r = await runPython(script, String(mmp.pop3Port));
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, string>;
  assert.match(out['alice-pass']!, /^\+OK Logged in/);
  assert.equal(out.alice, 'Subject: for alice');
  assert.equal(out['bob@example.test'], 'Subject: for bob');
  assert.equal(out.wrong, '-ERR [AUTH] Authentication failed');
});


test('virtual domains: a bare user name means the domain of the address the client connected to', async () => {
  const dirCfg = directorySchema.parse({ urls: [slapd.url], baseDn: slapd.suffix, bindDn: slapd.adminDn, bindPassword: slapd.adminPassword, defaultDomain: 'example.test' });
  const prov = new Provisioner(dirCfg);
  await prov.addDomain({ domain: 'other.test' });
  await prov.addUser({ address: 'alice@other.test', password: 'other-password', mailHost: 'store1' });
  await prov.close();
  await deliver(storeA, 'alice@other.test', 'for the other alice');
  const config: Config = configSchema.parse({
    deployment: { postmaster: 'postmaster@example.test' },
    hosts: { store1: { roles: ['store'], address: '127.0.0.1', overrides: { store: { imap: { port: storeA.imapPort } } } } },
    directory: { urls: [slapd.url], baseDn: slapd.suffix, bindDn: slapd.adminDn, bindPassword: slapd.adminPassword, defaultDomain: 'example.test' },
    redis: { mode: 'single', host: '127.0.0.1', port: 1 },
    log: { level: 'silent' },
    mmp: {
      imap: { host: '127.0.0.2', port: 0 },
      pop3: null,
      submission: null,
      virtualDomains: { '127.0.0.2': 'other.test' },
      proxyAdmin: { user: 'mmp-proxy', password: 'demo-proxy-password' },
    },
  });
  const other = await startMmpService({ config, host: 'mmp2' });
  try {
    const c = new ImapFlow({ host: '127.0.0.2', port: other.imapPort!, secure: false, auth: { user: 'alice', pass: 'other-password' }, logger: false });
    await c.connect();
    assert.deepEqual(await subjects(c), ['for the other alice']);
    await c.logout();
    // On the first MMP (127.0.0.1, no virtual domain) "alice" is still alice@example.test.
    const d = flow('alice');
    await d.connect();
    assert.ok((await subjects(d)).includes('for alice'));
    await d.logout();
  } finally {
    await other.stop(500);
  }
});

test('a literal flood before login is refused and the connection closed; nothing reaches a store', async () => {
  const c = await raw();
  await c.read(/^\* OK/);
  c.send('f LOGIN {100000}\r\n');
  assert.match(await c.read(/Literal too long/), /\* BAD Literal too long/);
  c.send('x'.repeat(100000));
  c.close();
  // The MMP still serves.
  const ok = flow('alice');
  await ok.connect();
  await ok.logout();
});

test('an account that is not active is refused; a client that does not log in in time is disconnected', async () => {
  const dirCfg = directorySchema.parse({ urls: [slapd.url], baseDn: slapd.suffix, bindDn: slapd.adminDn, bindPassword: slapd.adminPassword, defaultDomain: 'example.test' });
  const prov = new Provisioner(dirCfg);
  await prov.addUser({ address: 'held@example.test', password: 'held-password', mailHost: 'store1' });
  await prov.setUser('held@example.test', [{ attribute: 'inetUserStatus', operation: 'replace', values: ['inactive'] }]);
  await prov.close();
  const c = await raw();
  c.send('h LOGIN held held-password\r\n');
  assert.match(await c.read(/h NO/), /h NO \[CONTACTADMIN\] Account not available; contact your administrator/);
  c.close();

  const quick = await startMmpService({
    host: 'mmp3',
    config: configSchema.parse({
      deployment: { postmaster: 'postmaster@example.test' },
      hosts: { store1: { roles: ['store'], address: '127.0.0.1' } },
      directory: { urls: [slapd.url], baseDn: slapd.suffix, bindDn: slapd.adminDn, bindPassword: slapd.adminPassword, defaultDomain: 'example.test' },
      redis: { mode: 'single', host: '127.0.0.1', port: 1 },
      log: { level: 'silent' },
      mmp: { imap: { host: '127.0.0.1', port: 0 }, pop3: null, submission: null, preAuthTimeoutMs: 300 },
    }),
  });
  try {
    const s = connect({ host: '127.0.0.1', port: quick.imapPort! });
    let text = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (text += d));
    const closed = await new Promise<boolean>((resolve) => {
      s.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 3000);
    });
    assert.ok(closed, 'disconnected');
    assert.match(text, /\* BYE Autologout; log in sooner/);
  } finally {
    await quick.stop(500);
  }
});
