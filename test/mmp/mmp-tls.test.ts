// The MMP with TLS and mmp.plaintextAuth never: every service offers STARTTLS/STLS and refuses
// passwords before it; the implicit-TLS ports (993, 995, 465 style) log in at once. Real slapd
// and store; imapflow, poplib and nodemailer as clients.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { configSchema } from '@tiermail/core/config/schema';
import { startMmpService, type MmpService } from '@tiermail/mmp';
import { LmtpClient, message } from '../harness/lmtp-client.js';
import { runPython } from '../harness/python.js';
import { startSlapd, type SlapdHandle } from '../harness/slapd.js';
import { startStore, type StoreHandle } from '../harness/store.js';
import { testCert } from '../harness/tls.js';

let slapd: SlapdHandle;
let store: StoreHandle;
let mmp: MmpService;
const any = { host: '127.0.0.1', port: 0 };

before(async () => {
  slapd = await startSlapd({ demo: true, mailHost: 'store1' });
  store = await startStore({ workers: 1, ldapUrl: slapd.url, store: { proxyAuth: { admins: ['mmp-proxy'], trustedNetworks: ['127.0.0.1/32'] } } });
  const { client } = await LmtpClient.open(store.port);
  await client.command('LHLO t');
  await client.transaction('s@example.org', ['<alice@example.test>'], message('tls hello'));
  await client.close();
  const cert = testCert();
  mmp = await startMmpService({
    host: 'mmp1',
    config: configSchema.parse({
      deployment: { postmaster: 'postmaster@example.test' },
      hosts: { store1: { roles: ['store'], address: '127.0.0.1', overrides: { store: { imap: { port: store.imapPort }, pop3: { port: store.pop3Port } } } } },
      directory: { urls: [slapd.url], baseDn: slapd.suffix, bindDn: slapd.adminDn, bindPassword: slapd.adminPassword, defaultDomain: 'example.test' },
      redis: { mode: 'single', host: '127.0.0.1', port: 1 },
      log: { level: 'silent' },
      tls: { cert: cert.certPath, key: cert.keyPath },
      mmp: {
        imap: any,
        imaps: any,
        pop3: any,
        pop3s: any,
        submission: any,
        submissions: any,
        plaintextAuth: 'never',
        proxyAdmin: { user: 'mmp-proxy', password: 'demo-proxy-password' },
        authFailureDelayMs: 10,
      },
    }),
  });
});
after(async () => {
  await mmp?.stop(500);
  await store?.cleanup();
  await slapd?.stop();
});

function rawLines(port: number, send: string[]): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    let buf = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (buf += d));
    s.once('connect', async () => {
      for (const l of send) {
        await new Promise((r) => setTimeout(r, 150));
        s.write(l);
      }
      await new Promise((r) => setTimeout(r, 300));
      s.destroy();
      resolve(buf);
    });
  });
}

test('IMAP: STARTTLS and LOGINDISABLED before TLS, login after STARTTLS and on the implicit-TLS port', async () => {
  const before = await rawLines(mmp.imapPort!, ['a LOGIN alice demo-password\r\n']);
  assert.match(before, /^\* OK \[CAPABILITY IMAP4rev1 LITERAL\+ SASL-IR ID STARTTLS LOGINDISABLED\]/);
  assert.match(before, /a NO \[PRIVACYREQUIRED\] Log in after STARTTLS/);
  for (const [port, secure] of [
    [mmp.imapPort!, false],
    [mmp.imapsPort!, true],
  ] as const) {
    const c = new ImapFlow({ host: '127.0.0.1', port, secure, doSTARTTLS: secure ? undefined : true, tls: { rejectUnauthorized: false }, auth: { user: 'alice', pass: 'demo-password' }, logger: false });
    await c.connect();
    const st = await c.status('INBOX', { messages: true });
    assert.equal(st && st.messages, 1);
    await c.logout();
  }
});

test('POP3: STLS offered and USER refused before it; POP3 over implicit TLS with poplib', async () => {
  const before = await rawLines(mmp.pop3Port!, ['CAPA\r\n', 'USER alice\r\n']);
  assert.match(before, /\r\nSTLS\r\n/);
  assert.doesNotMatch(before, /\r\nUSER\r\n/);
  assert.match(before, /-ERR \[AUTH\] Log in after STLS/);
  const r = await runPython(
    `
import poplib, ssl, sys
p = poplib.POP3_SSL('127.0.0.1', int(sys.argv[1]), context=ssl._create_unverified_context())
p.user('alice'); p.pass_('demo-password')
print(p.stat()[0]); p.quit()
`,
    String(mmp.pop3sPort),
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '1');
});

test('submission: AUTH only after STARTTLS (538 before), and on the implicit-TLS port', async () => {
  const auth = { user: 'alice', pass: 'demo-password' };
  const plain = nodemailer.createTransport({ host: '127.0.0.1', port: mmp.submissionPort!, secure: false, ignoreTLS: true, auth } as SMTPTransport.Options);
  await assert.rejects(plain.verify(), (e: { response?: string }) => /^538 5\.7\.11 /.test(e.response ?? ''));
  const starttls = nodemailer.createTransport({ host: '127.0.0.1', port: mmp.submissionPort!, secure: false, requireTLS: true, tls: { rejectUnauthorized: false }, auth } as SMTPTransport.Options);
  assert.equal(await starttls.verify(), true);
  const implicit = nodemailer.createTransport({ host: '127.0.0.1', port: mmp.submissionsPort!, secure: true, tls: { rejectUnauthorized: false }, auth } as SMTPTransport.Options);
  assert.equal(await implicit.verify(), true);
});
