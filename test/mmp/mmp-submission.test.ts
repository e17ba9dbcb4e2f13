// The MMP's submission service (RFC 6409) against a real relay, store and slapd: an
// authenticated user's message is relayed and stored (Received names the user, Message-ID and
// Date are added); no AUTH, a foreign MAIL FROM and a wrong password are refused; a dead relay
// is skipped for the next one, and with no relay left the client gets 451 4.4.1.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { configSchema } from '@tiermail/core/config/schema';
import { startMmpService, type MmpService } from '@tiermail/mmp';
import { freePort } from '../harness/ports.js';
import { inbox, startStack, waitFor, type Stack } from '../mta/helpers.js';

let stack: Stack;
let mmp: MmpService;
let lonely: MmpService;

function mmpConfig(relays: Array<{ host: string; port: number }>, extra: Record<string, unknown> = {}) {
  return configSchema.parse({
    deployment: { postmaster: 'postmaster@example.test' },
    hosts: { mmp1: { roles: ['mmp'], address: '127.0.0.1' } },
    directory: { urls: [stack.slapd.url], baseDn: stack.slapd.suffix, bindDn: stack.slapd.adminDn, bindPassword: stack.slapd.adminPassword, defaultDomain: 'example.test' },
    redis: { mode: 'single', host: '127.0.0.1', port: 1 },
    log: { level: 'silent' },
    mmp: { imap: null, pop3: null, submission: { host: '127.0.0.1', port: 0 }, relays, connectTimeoutMs: 1000, ...extra },
  });
}

before(async () => {
  // The relay's submission port takes the MMP's proxy admin (for the relayAuth test).
  stack = await startStack({ relay: { proxyAuth: { admins: ['mmp-proxy'], trustedNetworks: ['127.0.0.1/32'] } } });
  const dead = await freePort();
  mmp = await startMmpService({ config: mmpConfig([{ host: '127.0.0.1', port: dead }, { host: '127.0.0.1', port: stack.relay.port }]), host: 'mmp1' });
  lonely = await startMmpService({ config: mmpConfig([{ host: '127.0.0.1', port: dead }]), host: 'mmp1' });
});
after(async () => {
  await mmp?.stop(500);
  await lonely?.stop(500);
  await stack?.stop();
});

const client = (port: number, auth?: { user: string; pass: string }) =>
  nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, ...(auth ? { auth } : {}) } as SMTPTransport.Options);

test('an authenticated submission is relayed (past a dead relay) and stored, with Received, Message-ID and Date added', async () => {
  const info = await client(mmp.submissionPort!, { user: 'alice', pass: 'demo-password' }).sendMail({
    envelope: { from: 'alice@example.test', to: ['bob@example.test'] },
    raw: 'From: alice@example.test\r\nTo: bob@example.test\r\nSubject: via the MMP\r\n\r\nhello bob\r\n',
  });
  assert.match(info.response, /^250 2\.0\.0 Ok queued as [0-9A-Z]+$/);
  const msg = await waitFor('the message in bob\'s INBOX', () => inbox(stack.store, 'bob@example.test').find((m) => m.text.includes('Subject: via the MMP')));
  assert.match(msg.text, /with ESMTPSA \(authenticated as alice@example\.test\)/);
  assert.match(msg.text, /^Message-ID: <[0-9a-f]+@mmp1>$/m);
  assert.match(msg.text, /^Date: /m);
});

test('no AUTH, a sender address that is not the user\'s, and a wrong password are refused', async () => {
  await assert.rejects(client(mmp.submissionPort!).sendMail({ envelope: { from: 'alice@example.test', to: ['bob@example.test'] }, raw: 'Subject: x\r\n\r\nx\r\n' }), (e: { response?: string }) =>
    /^530 5\.7\.0 /.test(e.response ?? ''),
  );
  await assert.rejects(
    client(mmp.submissionPort!, { user: 'alice', pass: 'demo-password' }).sendMail({ envelope: { from: 'bob@example.test', to: ['bob@example.test'] }, raw: 'Subject: x\r\n\r\nx\r\n' }),
    (e: { response?: string }) => /^553 5\.7\.1 <bob@example\.test>: Sender address not owned by alice@example\.test/.test(e.response ?? ''),
  );
  await assert.rejects(
    client(mmp.submissionPort!, { user: 'alice', pass: 'nope' }).sendMail({ envelope: { from: 'alice@example.test', to: ['bob@example.test'] }, raw: 'Subject: x\r\n\r\nx\r\n' }),
    (e: { response?: string }) => /^535 5\.7\.8 /.test(e.response ?? ''),
  );
});

test('with no relay answering, the client is told to try later', async () => {
  await assert.rejects(
    client(lonely.submissionPort!, { user: 'alice', pass: 'demo-password' }).sendMail({ envelope: { from: 'alice@example.test', to: ['bob@example.test'] }, raw: 'Subject: x\r\n\r\nx\r\n' }),
    (e: { response?: string }) => /^451 4\.4\.1 No relay available/.test(e.response ?? ''),
  );
});

test('mmp.relayAuth: the MMP submits to the relay\'s submission port as its proxy admin on behalf of the user', async () => {
  const authed = await startMmpService({
    config: mmpConfig([{ host: '127.0.0.1', port: stack.relay.submissionPort }], { relayAuth: true, proxyAdmin: { user: 'mmp-proxy', password: 'demo-proxy-password' } }),
    host: 'mmp1',
  });
  const wrong = await startMmpService({
    config: mmpConfig([{ host: '127.0.0.1', port: stack.relay.submissionPort }], { relayAuth: true, proxyAdmin: { user: 'mmp-proxy', password: 'wrong' } }),
    host: 'mmp1',
  });
  try {
    const info = await client(authed.submissionPort!, { user: 'alice', pass: 'demo-password' }).sendMail({
      envelope: { from: 'alice@example.test', to: ['bob@example.test'] },
      raw: 'From: alice@example.test\r\nTo: bob@example.test\r\nSubject: via the MMP with AUTH\r\n\r\nhi\r\n',
    });
    const id = /queued as ([0-9A-Z]+)/.exec(info.response)?.[1] ?? '';
    const msg = await waitFor('stored', () => inbox(stack.store, 'bob@example.test').find((m) => m.text.includes('Subject: via the MMP with AUTH')));
    // The relay saw an authenticated submission (ESMTPA), and kept who it was for.
    assert.match(msg.text, /by relay1\.example\.test \(tiermail\) with ESMTPA id /);
    const env = stack.relay.mailLog().find((r) => r.queueId === id && r.code === 'E');
    assert.equal(env?.from, 'alice@example.test');
    // Wrong proxy credentials at the relay: the user is not told "wrong password" but to retry.
    await assert.rejects(
      client(wrong.submissionPort!, { user: 'alice', pass: 'demo-password' }).sendMail({ envelope: { from: 'alice@example.test', to: ['bob@example.test'] }, raw: 'Subject: x\r\n\r\nx\r\n' }),
      (e: { response?: string }) => /^451 4\.4\.1 /.test(e.response ?? ''),
    );
  } finally {
    await authed.stop(500);
    await wrong.stop(500);
  }
});
