// The relay end to end: nodemailer → relay (real process) → spool → bullmq → LMTP → store,
// with the real slapd and redis-server, and every refusal the MX listener must give.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'ldapts';
import { demoDns } from '@tiermail/core/slapd/index';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LmtpClient } from '../harness/lmtp-client.js';
import { inbox, queueIdOf, recordsFor, startStack, transport, waitFor, type Stack } from './helpers.js';

let stack: Stack;

before(async () => {
  stack = await startStack({ limits: { maxMessageSize: 64 * 1024, maxLineLength: 1000 } });
});
after(async () => {
  await stack?.stop();
});

const spoolIsEmpty = (): boolean => {
  const q = join(stack.relay.config.paths.var, 'spool', 'queue');
  if (!existsSync(q)) return true;
  return readdirSync(q).every((d) => readdirSync(join(q, d)).length === 0);
};

test('a message to alice and bob is delivered to both, with E then D in mail.log', async () => {
  const info = await transport(stack.relay.port).sendMail({
    from: 'sender@example.org',
    to: ['alice@example.test', 'bob@example.test'],
    subject: 'hello both',
    text: 'Hi there.',
    messageId: '<both.1@example.org>',
  });
  assert.match(info.response, /^250 2\.0\.0 Ok queued as [0-9A-Z]+$/);
  const id = queueIdOf(info.response);
  const records = await waitFor('two D records', () => {
    const r = recordsFor(stack.relay.mailLog(), id);
    return r.filter((x) => x.startsWith('D')).length === 2 && r;
  });
  for (const user of ['alice@example.test', 'bob@example.test']) {
    const e = records.indexOf(`E ${user}`);
    const d = records.indexOf(`DL ${user}`);
    assert.ok(e >= 0 && d > e, `E then D for ${user}: ${records.join(', ')}`);
    const box = inbox(stack.store, user);
    const msg = box.find((m) => m.text.includes('Message-ID: <both.1@example.org>'));
    assert.ok(msg, `${user} has the message`);
    assert.match(msg.text, /^Return-Path: <sender@example\.org>\r\nReceived: from client\.example\.org \(/);
    assert.match(msg.text, new RegExp(`by relay1\\.example\\.test \\(tiermail\\) with ESMTP id ${id}`));
  }
  const d = stack.relay.mailLog().find((r) => r.queueId === id && r.code === 'DL');
  assert.equal(d?.messageId, '<both.1@example.org>');
  assert.match(d?.answer ?? '', /^250 2\.1\.5 /);
  await waitFor('the spool to empty', spoolIsEmpty);
});

test('an unknown local user is refused at RCPT with 550 5.1.1 and a J record', async () => {
  await assert.rejects(
    transport(stack.relay.port).sendMail({ from: 'sender@example.org', to: 'nobody@example.test', subject: 'x', text: 'x' }),
    (err: { responseCode?: number; response?: string }) => {
      assert.equal(err.responseCode, 550);
      assert.match(err.response ?? '', /^550 5\.1\.1 <nobody@example\.test>: No such user here$/);
      return true;
    },
  );
  // mail.log is written asynchronously: the record follows the reply by a moment.
  const j = await waitFor('the J record', () => stack.relay.mailLog().find((r) => r.code === 'J' && r.to === 'nobody@example.test'));
  assert.match(j.answer ?? '', /^550 5\.1\.1/);
});

test('relaying to a remote domain from an untrusted client is refused with 550 5.7.1', async () => {
  const untrusted = await startStackRelayUntrusted();
  assert.match(untrusted, /^550 5\.7\.1 <someone@remote\.example>: Relaying denied$/);
});

/** The trusted networks of the shared relay include 127/8, so ask for a relay without them. */
async function startStackRelayUntrusted(): Promise<string> {
  const { startRelay } = await import('../harness/relay.js');
  const relay = await startRelay({
    ldapUrl: stack.slapd.url,
    redisPort: stack.redis.port,
    storePort: stack.store.port,
    workers: 1,
    relay: { trustedNetworks: ['10.0.0.0/8'] },
  });
  try {
    const { client } = await LmtpClient.open(relay.port);
    await client.command('EHLO client.example.org');
    await client.command('MAIL FROM:<sender@example.org>');
    const reply = await client.command('RCPT TO:<someone@remote.example>');
    // A local recipient is still accepted from anyone: this is the MX.
    assert.match(await client.command('RCPT TO:<alice@example.test>'), /^250 /);
    await client.close();
    return reply;
  } finally {
    await relay.stop();
    await relay.cleanup();
  }
}

test('group staff@ reaches alice and bob once each, even when alice is also named directly', async () => {
  const before = { alice: inbox(stack.store, 'alice@example.test').length, bob: inbox(stack.store, 'bob@example.test').length };
  const info = await transport(stack.relay.port).sendMail({
    from: 'sender@example.org',
    to: ['staff@example.test', 'alice@example.test'],
    subject: 'to the group',
    text: 'Team news.',
  });
  const id = queueIdOf(info.response);
  const records = await waitFor('two D records', () => {
    const r = recordsFor(stack.relay.mailLog(), id);
    return r.filter((x) => x.startsWith('D')).length === 2 && r;
  });
  assert.deepEqual(records.filter((r) => r.startsWith('E')).sort(), ['E alice@example.test', 'E bob@example.test']);
  const e = stack.relay.mailLog().filter((r) => r.queueId === id && r.code === 'E');
  // The first RCPT that led to a mailbox is its original recipient.
  assert.deepEqual(e.map((r) => r.orcpt), ['staff@example.test', 'staff@example.test']);
  assert.equal(inbox(stack.store, 'alice@example.test').length, before.alice + 1);
  assert.equal(inbox(stack.store, 'bob@example.test').length, before.bob + 1);
});

test('mgrpAllowedBroadcaster: only the named address and the members of the named group may post', async () => {
  const ldap = new Client({ url: stack.slapd.url });
  await ldap.bind(stack.slapd.adminDn, stack.slapd.adminPassword);
  const dns = demoDns();
  const list = `cn=announce,${dns.groups}`;
  await ldap.add(list, {
    objectClass: ['top', 'tiermailGroup', 'inetMailGroup'],
    cn: 'announce',
    mail: 'announce@example.test',
    uniqueMember: [dns.bob],
    mgrpAllowedBroadcaster: ['mailto:boss@example.org', `ldap:///${dns.staff}`],
    inetMailGroupStatus: 'active',
  });
  await ldap.unbind();
  const rcpt = async (from: string): Promise<string> => {
    const { client } = await LmtpClient.open(stack.relay.port);
    await client.command('EHLO client.example.org');
    await client.command(`MAIL FROM:<${from}>`);
    const r = await client.command('RCPT TO:<announce@example.test>');
    await client.close();
    return r;
  };
  assert.match(await rcpt('stranger@example.org'), /^550 5\.7\.1 <announce@example\.test>: Not authorized to send to this group$/);
  assert.match(await rcpt(''), /^550 5\.7\.1 /, 'the null sender is nobody in particular');
  assert.match(await rcpt('Boss@Example.org'), /^250 /);
  assert.match(await rcpt('alice@example.test'), /^250 /, 'alice is a member of staff');
  const j = await waitFor('the J record', () => stack.relay.mailLog().find((r) => r.code === 'J' && r.to === 'announce@example.test'));
  assert.match(j.answer ?? '', /^550 5\.7\.1 /);
});

test('a message over limits.maxMessageSize is refused: SIZE at MAIL, and at the end of DATA', async () => {
  const { client } = await LmtpClient.open(stack.relay.port);
  await client.command('EHLO client.example.org');
  assert.match(await client.command(`MAIL FROM:<s@example.org> SIZE=${1024 * 1024}`), /^552 5\.3\.4 /);
  const big = `Subject: big\r\n\r\n${`${'x'.repeat(998)}\r\n`.repeat(80)}`;
  const r = await client.transaction('s@example.org', ['<alice@example.test>'], big);
  assert.match(r.data[0] ?? '', /^552 5\.3\.4 Message size exceeds fixed maximum message size/);
  assert.match(await client.command('NOOP'), /^250 /, 'the session goes on');
  await client.close();
});

test('a message with more than maxReceived Received headers is refused as a loop', async () => {
  const { client } = await LmtpClient.open(stack.relay.port);
  await client.command('EHLO client.example.org');
  const hops = 'Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n'.repeat(51);
  const r = await client.transaction('s@example.org', ['<alice@example.test>'], `${hops}Subject: loop\r\n\r\nbody\r\n`);
  assert.match(r.data[0] ?? '', /^554 5\.4\.6 Mail loop detected: 51 Received headers/);
  const ok = await client.transaction('s@example.org', ['<alice@example.test>'], `${'Received: x\r\n'.repeat(50)}Subject: fifty\r\n\r\nbody\r\n`);
  assert.match(ok.data[0] ?? '', /^250 2\.0\.0 Ok queued as /);
  await client.close();
});

test('bad input gets clear SMTP errors and the relay keeps serving', async () => {
  const { client } = await LmtpClient.open(stack.relay.port);
  await client.command('EHLO client.example.org');
  // Pipelined garbage: each line gets its own error, in order.
  client.write('FOO bar\r\nMAIL FROM:bad\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n\x01\x02\x03\r\n');
  const replies = [await client.reply(), await client.reply(), await client.reply(), await client.reply(), await client.reply()];
  assert.match(replies[0] ?? '', /^500 /);
  assert.match(replies[1] ?? '', /^501 /);
  assert.match(replies[2] ?? '', /^503 /);
  assert.match(replies[3] ?? '', /^503 /);
  assert.match(replies[4] ?? '', /^500 /);
  // Bare LF in DATA, a 0-byte message, a line that is not a header: refused at the end of DATA.
  const bareLf = await client.transaction('s@example.org', ['<alice@example.test>'], 'Subject: lf\r\n\r\nline one\nline two\r\n');
  assert.match(bareLf.data[0] ?? '', /^554 5\.6\.0 Malformed message: bare LF/);
  await client.command('MAIL FROM:<s@example.org>');
  await client.command('RCPT TO:<alice@example.test>');
  assert.match(await client.command('DATA'), /^354 /);
  assert.match(await client.command('.'), /^554 5\.6\.0 Message is empty/);
  const noHeader = await client.transaction('s@example.org', ['<alice@example.test>'], 'just text\r\n');
  assert.match(noHeader.data[0] ?? '', /^554 5\.6\.0 Malformed message: malformed header line/);
  // 8-bit header values (UTF-8) are accepted and delivered as they are.
  const before = inbox(stack.store, 'bob@example.test').length;
  const eight = await client.transaction('s@example.org', ['<bob@example.test>'], Buffer.from('Subject: Grüße aus Köln\r\n\r\nHallo\r\n', 'utf8'));
  assert.match(eight.data[0] ?? '', /^250 2\.0\.0 Ok queued as /);
  await waitFor('the 8-bit message in bob\'s INBOX', () => inbox(stack.store, 'bob@example.test').length === before + 1);
  assert.ok(inbox(stack.store, 'bob@example.test').some((m) => Buffer.from(m.text, 'latin1').toString('utf8').includes('Grüße aus Köln')));
  // A header-only message gets the blank line the store needs.
  const headerOnly = await client.transaction('s@example.org', ['<bob@example.test>'], 'Subject: no body\r\n');
  assert.match(headerOnly.data[0] ?? '', /^250 2\.0\.0 /);
  await client.close();

  // An overlong command line: 421 and the connection is closed, the relay lives on.
  const long = await LmtpClient.open(stack.relay.port);
  long.client.write(`EHLO ${'x'.repeat(5000)}\r\n`);
  assert.match(await long.client.reply(), /^421 /);
  await long.client.close();
  const again = await LmtpClient.open(stack.relay.port);
  assert.match(again.greeting, /^220 relay1\.example\.test ESMTP/);
  assert.match(await again.client.command('EHLO client.example.org'), /ENHANCEDSTATUSCODES/);
  await again.client.close();
  await waitFor('the spool to empty', spoolIsEmpty);
});

test('/metrics on the relay primary sums its workers: connections, messages, rejections, deliveries, queue jobs', async () => {
  const before = await scrape();
  await transport(stack.relay.port).sendMail({ from: 'sender@example.org', to: 'bob@example.test', subject: 'counted', text: 'x' });
  await transport(stack.relay.port)
    .sendMail({ from: 'sender@example.org', to: 'nobody@example.test', text: 'x' })
    .catch(() => undefined);
  const after = await waitForValue(() => scrape(), (m) => (m.get('tiermail_relay_deliveries_total{channel="lmtp",result="delivered"}') ?? 0) > (before.get('tiermail_relay_deliveries_total{channel="lmtp",result="delivered"}') ?? 0));
  const grew = (k: string): number => (after.get(k) ?? 0) - (before.get(k) ?? 0);
  assert.ok(grew('tiermail_smtp_messages_total{listener="smtp",result="accepted"}') >= 1);
  assert.ok(grew('tiermail_smtp_recipients_rejected_total{code="5.1.1"}') >= 1);
  assert.ok(grew('tiermail_smtp_connections_total{listener="smtp",result="accepted"}') >= 2);
  assert.ok(after.has('tiermail_relay_queue_jobs{channel="lmtp",state="delayed"}'), 'queue depth from the job controller');
  assert.ok((after.get('tiermail_relay_attempt_seconds_count{channel="lmtp"}') ?? 0) >= 1);
});

async function scrape(): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${stack.relay.metricsPort}/metrics`);
  assert.equal(res.status, 200);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    // Labels other than the ones a test names (service, host) are dropped from the key.
    const key = line.slice(0, i).replace(/,?(service|host)="[^"]*"/g, '').replace('{,', '{').replace(/\{\}$/, '');
    out.set(key, (out.get(key) ?? 0) + Number(line.slice(i + 1)));
  }
  return out;
}

async function waitForValue<T>(get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (ok(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}
