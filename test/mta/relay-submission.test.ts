// The relay's submission listeners (RFC 6409) and connection limits: AUTH required before
// MAIL, passwords only after STARTTLS (relay.plaintextAuth never), implicit TLS on
// relay.submissions, the sender must be the user's own address, a proxy admin may submit for a
// user, Message-ID and Date added when missing, any recipient once authenticated; per-address
// connection limit on the MX.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { LmtpClient } from '../harness/lmtp-client.js';
import { freePort } from '../harness/ports.js';
import { startSmtpSink, type SmtpSink } from '../harness/smtp-sink.js';
import { testCert } from '../harness/tls.js';
import { inbox, queueIdOf, startStack, waitFor, type Stack } from './helpers.js';

let stack: Stack;
let sink: SmtpSink;
let submissionsPort: number;
const cert = testCert();
const auth = { user: 'alice', pass: 'demo-password' };

before(async () => {
  sink = await startSmtpSink();
  submissionsPort = await freePort();
  stack = await startStack({
    workers: 1,
    tls: { cert: cert.certPath, key: cert.keyPath },
    relay: {
      plaintextAuth: 'never',
      submissions: { host: '127.0.0.1', port: submissionsPort },
      maxConnectionsPerIp: 3,
      // The proxy admin may submit from 127.0.0.2 only (trusted proxies may also skip TLS).
      proxyAuth: { admins: ['mmp-proxy'], trustedNetworks: ['127.0.0.2/32'] },
      channels: { lmtp: { retrySeconds: [1] }, smtp: { routes: { 'remote.example': [`127.0.0.1:${sink.port}`] }, retrySeconds: [1] } },
    },
  });
});
after(async () => {
  await stack?.stop();
  await sink?.stop();
});

function submit(options: { port?: number; secure?: boolean; user?: string; pass?: string; authzid?: string } = {}): nodemailer.Transporter {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port: options.port ?? stack.relay.submissionPort,
    secure: options.secure ?? false,
    requireTLS: !options.secure,
    tls: { rejectUnauthorized: false },
    name: 'laptop.example.org',
    ...(options.user ? { auth: { user: options.user, pass: options.pass ?? '' } } : {}),
  });
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { response?: string }).response ?? String(err);
  }
  return 'accepted';
}

test('submission without AUTH is refused at MAIL FROM with 530 5.7.0', async () => {
  const r = await refusal(submit().sendMail({ from: 'alice@example.test', to: 'bob@example.test', text: 'x' }));
  assert.match(r, /^530 5\.7\.0 Authentication required/);
});

test('AUTH before STARTTLS is refused with 538 5.7.11; the MX offers STARTTLS but no AUTH', async () => {
  const { client } = await LmtpClient.open(stack.relay.submissionPort);
  const ehlo = await client.command('EHLO laptop.example.org');
  assert.match(ehlo, /STARTTLS/);
  const token = Buffer.from('\0alice\0demo-password').toString('base64');
  assert.match(await client.command(`AUTH PLAIN ${token}`), /^538 5\.7\.11 /);
  await client.close();
  const mx = await LmtpClient.open(stack.relay.port);
  const mxEhlo = await mx.client.command('EHLO mx.example.org');
  assert.match(mxEhlo, /STARTTLS/);
  assert.doesNotMatch(mxEhlo, /AUTH/);
  await mx.client.close();
});

test('a wrong password gets 535 5.7.8; the right one over STARTTLS sends to a local and a remote recipient', async () => {
  assert.match(await refusal(submit({ user: 'alice', pass: 'wrong' }).sendMail({ from: 'alice@example.test', to: 'bob@example.test', text: 'x' })), /^535 5\.7\.8 /);
  const bobBefore = inbox(stack.store, 'bob@example.test').length;
  const info = await submit(auth).sendMail({ from: 'alice@example.test', to: ['bob@example.test', 'carol@remote.example'], subject: 'submitted', text: 'hi' });
  const id = queueIdOf(info.response);
  await waitFor('bob has it', () => inbox(stack.store, 'bob@example.test').length > bobBefore);
  const msg = inbox(stack.store, 'bob@example.test').at(-1)!.text;
  assert.match(msg, /\nReceived: from laptop\.example\.org \(\[127\.0\.0\.1\] \[127\.0\.0\.1\]\)\r\n\tby relay1\.example\.test \(tiermail\) with ESMTPSA id /);
  await waitFor('the remote copy', () => sink.messages.find((m) => m.data.includes(id)));
  const e = stack.relay.mailLog().filter((r) => r.queueId === id && r.code === 'E');
  assert.equal(e.length, 2);
});

test('MAIL FROM an address the user does not own is refused with 553 5.7.1', async () => {
  const r = await refusal(submit(auth).sendMail({ from: 'bob@example.test', to: 'bob@example.test', text: 'x' }));
  assert.match(r, /^553 5\.7\.1 <bob@example\.test>: Sender address not owned by alice@example\.test/);
});

test('a submitted message without Message-ID and Date gets both; one with them keeps its own', async () => {
  const before = inbox(stack.store, 'bob@example.test').length;
  const bare = 'From: alice@example.test\r\nTo: bob@example.test\r\nSubject: bare\r\n\r\nno ids here\r\n';
  await submit(auth).sendMail({ envelope: { from: 'alice@example.test', to: ['bob@example.test'] }, raw: bare });
  const own = 'From: alice@example.test\r\nTo: bob@example.test\r\nSubject: own\r\nMessage-ID: <mine@laptop>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nids\r\n';
  await submit(auth).sendMail({ envelope: { from: 'alice@example.test', to: ['bob@example.test'] }, raw: own });
  await waitFor('both delivered', () => inbox(stack.store, 'bob@example.test').length >= before + 2);
  const texts = inbox(stack.store, 'bob@example.test').slice(before).map((m) => m.text);
  const b = texts.find((t) => t.includes('Subject: bare'))!;
  assert.match(b, /^Message-ID: <[^>]+@relay1\.example\.test>\r$/m);
  assert.match(b, /^Date: \w{3}, \d{2} \w{3} \d{4} /m);
  assert.match(b, /\r\n\r\nno ids here\r\n$/);
  const o = texts.find((t) => t.includes('Subject: own'))!;
  assert.equal(o.match(/^Message-ID:/gim)?.length, 1);
  assert.match(o, /^Message-ID: <mine@laptop>\r$/m);
  assert.equal(o.match(/^Date:/gim)?.length, 1);
});

test('implicit TLS on relay.submissions; a proxy admin submits on behalf of a user', async () => {
  const info = await submit({ port: submissionsPort, secure: true, ...{ user: 'alice', pass: 'demo-password' } }).sendMail({
    from: 'alice@example.test',
    to: 'bob@example.test',
    text: 'over 465',
  });
  assert.match(info.response, /^250 /);
  // SASL PLAIN authzid=alice, authcid=mmp-proxy: the MMP's way in.
  const { client } = await LmtpClient.open(stack.relay.submissionPort);
  await client.command('EHLO mmp.example.test');
  assert.match(await client.command('STARTTLS'), /^220 /);
  await client.close();
  const t = nodemailer.createTransport({
    host: '127.0.0.1',
    port: submissionsPort,
    secure: true,
    localAddress: '127.0.0.2',
    tls: { rejectUnauthorized: false },
    auth: { type: 'custom', method: 'PLAIN', user: 'mmp-proxy', pass: 'demo-proxy-password' },
    customAuth: {
      PLAIN: async (ctx: { sendCommand(cmd: string): Promise<{ status: number; text: string }>; resolve(): void; reject(e: Error): void }) => {
        const r = await ctx.sendCommand(`AUTH PLAIN ${Buffer.from('alice@example.test\0mmp-proxy\0demo-proxy-password').toString('base64')}`);
        if (r.status < 300) ctx.resolve();
        else ctx.reject(new Error(r.text));
      },
    },
  } as nodemailer.TransportOptions);
  const proxied = await t.sendMail({ from: 'alice@example.test', to: 'bob@example.test', text: 'via the proxy admin' });
  assert.match(proxied.response, /^250 /);
  // The proxy admin acts as alice: alice's sender rules apply.
  assert.match(await refusal(t.sendMail({ from: 'bob@example.test', to: 'bob@example.test', text: 'x' })), /^553 5\.7\.1 .*alice@example\.test/);
  // From an address not in relay.proxyAuth.trustedNetworks the same AUTH is refused.
  const untrusted = nodemailer.createTransport({ ...(t.options as object), localAddress: '127.0.0.1' } as nodemailer.TransportOptions);
  assert.match(await refusal(untrusted.sendMail({ from: 'alice@example.test', to: 'bob@example.test', text: 'x' })), /535 5\.7\.8|Authentication credentials invalid/);
});

test('more than maxConnectionsPerIp connections from one address get 421 4.7.0', async () => {
  const open: LmtpClient[] = [];
  for (let i = 0; i < 3; i += 1) {
    const { client, greeting } = await LmtpClient.open(stack.relay.port);
    assert.match(greeting, /^220 /);
    open.push(client);
  }
  const fourth = await LmtpClient.open(stack.relay.port);
  assert.match(fourth.greeting, /^421 4\.7\.0 /);
  await fourth.client.close();
  await open[0]!.close();
  await new Promise((r) => setTimeout(r, 200));
  const again = await LmtpClient.open(stack.relay.port);
  assert.match(again.greeting, /^220 /, 'a slot frees when a connection closes');
  await again.client.close();
  for (const c of open.slice(1)) await c.close();
});
