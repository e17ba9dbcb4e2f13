// Remote delivery (the smtp channel) and DSNs, against a test DNS server and test MX hosts:
// MX order and fallback, retries on 451, failures returned to the sender as RFC 3464 reports,
// null MX and unknown domains, STARTTLS, DSN parameters passed on or answered, delay notices
// and the final return after the last notice period.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { startSmtpSink, type SmtpSink } from '../harness/smtp-sink.js';
import { inbox, queueIdOf, recordsFor, startStack, transport, waitFor, type Stack } from './helpers.js';

let stack: Stack;
let mx: SmtpSink;
let tlsMx: SmtpSink;
let plainMx: SmtpSink;
const tries = new Map<string, number>();

before(async () => {
  mx = await startSmtpSink({
    script(stage, address) {
      if (stage !== 'rcpt') return null;
      const n = (tries.get(address) ?? 0) + 1;
      tries.set(address, n);
      if (address === 'flaky@remote.example' && n <= 2) return '451 4.3.0 try again later';
      if (address.startsWith('nobody@')) return '550 5.1.1 no such user at the test MX';
      if (address === 'slow@remote.example') return '451 4.2.0 mailbox busy';
      return null;
    },
  });
  tlsMx = await startSmtpSink({ tls: true });
  plainMx = await startSmtpSink({ hideDsn: true });
  stack = await startStack(
    {
      relay: {
        channels: {
          lmtp: { retrySeconds: [1] },
          smtp: {
            port: mx.port,
            retrySeconds: [1],
            // 8.6 s and 17 s: one delay notice, then the return.
            noticesDays: [0.0001, 0.0002],
            routes: { 'tls.example': [`127.0.0.1:${tlsMx.port}`], 'nodsn.example': [`127.0.0.1:${plainMx.port}`] },
          },
        },
        rewrite: {
          recipients: [{ pattern: '(.+)@old\\.example\\.test', replacement: '$1@example.test' }],
          senders: [{ pattern: '([a-z]+)@internal\\.example\\.test', replacement: '$1@example.test' }],
        },
      },
    },
    {
      // The preferred MX has an address nothing listens on: the relay must go on to the next.
      'remote.example': { mx: [[20, 'mx2.remote.example'], [10, 'mx1.remote.example']] },
      'mx1.remote.example': { a: ['127.0.0.2'] },
      'mx2.remote.example': { a: ['127.0.0.1'] },
      'nullmx.example': { mx: [[0, '.']] },
    },
  );
});
after(async () => {
  await stack?.stop();
  await Promise.all([mx?.stop(), tlsMx?.stop(), plainMx?.stop()]);
});

async function send(to: string, extra: Record<string, unknown> = {}, from = 'alice@example.test'): Promise<string> {
  const info = await transport(stack.relay.port).sendMail({ from, to, subject: `to ${to}`, text: `hello ${to}`, ...extra });
  return queueIdOf(info.response);
}

/** Alice's messages whose subject starts with `subject`. */
function reports(subject: string): string[] {
  return inbox(stack.store, 'alice@example.test')
    .map((m) => m.text)
    .filter((t) => t.includes(`Subject: ${subject}`));
}

test('a remote MX answering 451 twice then 250: delivered on the third try (Q Q D); the unreachable preferred MX is skipped', async () => {
  const id = await send('flaky@remote.example');
  await waitFor('a D record', () => recordsFor(stack.relay.mailLog(), id).includes('D flaky@remote.example'));
  assert.deepEqual(
    recordsFor(stack.relay.mailLog(), id).map((r) => r.split(' ')[0]),
    ['E', 'Q', 'Q', 'D'],
  );
  const d = stack.relay.mailLog().find((r) => r.queueId === id && r.code === 'D');
  assert.match(d?.remote ?? '', /^mx2\.remote\.example \[127\.0\.0\.1\]:/);
  assert.match(d?.answer ?? '', /^250 /);
  const got = mx.messages.filter((m) => m.to.includes('flaky@remote.example'));
  assert.equal(got.length, 1);
  assert.equal(got[0]!.from, 'alice@example.test');
  assert.equal(got[0]!.ehlo, 'relay1.example.test');
  assert.match(got[0]!.data, /^Received: from /);
  // MX lookups went to the test server, in preference order.
  assert.ok(stack.dns.queries.some((q) => q.name === 'remote.example' && q.type === 15));
});

test('an MX answering 550: the sender gets an RFC 3464 report with the answer and the original message', async () => {
  const id = await send('nobody@remote.example');
  await waitFor('an R record', () => recordsFor(stack.relay.mailLog(), id).includes('R nobody@remote.example'));
  const text = await waitFor('the DSN in alice’s INBOX', () => reports('Undelivered Mail Returned to Sender').find((t) => t.includes(id)));
  const parsed = await simpleParser(text);
  assert.equal(parsed.headers.get('auto-submitted'), 'auto-replied');
  const ct = parsed.headers.get('content-type') as { value: string; params: Record<string, string> };
  assert.equal(ct.value, 'multipart/report');
  assert.equal(ct.params['report-type'], 'delivery-status');
  assert.match(text, /Content-Type: message\/delivery-status/);
  assert.match(text, /Reporting-MTA: dns; relay1\.example\.test/);
  assert.match(text, /Final-Recipient: rfc822; nobody@remote\.example/);
  assert.match(text, /Action: failed/);
  assert.match(text, /Status: 5\.1\.1/);
  assert.match(text, /Remote-MTA: dns; mx2\.remote\.example/);
  assert.match(text, /Diagnostic-Code: smtp; 550 5\.1\.1 no such user at the test MX/);
  assert.match(text, /Content-Type: message\/rfc822[\s\S]*Subject: to nobody@remote\.example[\s\S]*hello nobody@remote\.example/);
  // The DSN itself travels with the null sender, so it can never cause another one.
  const dsnE = stack.relay.mailLog().find((r) => r.code === 'E' && r.from === '' && r.to === 'alice@example.test');
  assert.ok(dsnE, 'the DSN was queued from <>');
});

test('a null MX and a domain that does not exist fail at once: 556 5.1.10 and 550 5.1.2', async () => {
  const a = await send('someone@nullmx.example');
  const b = await send('someone@nxdomain.example');
  const ra = await waitFor('R for the null MX', () => stack.relay.mailLog().find((r) => r.queueId === a && r.code === 'R'));
  const rb = await waitFor('R for the unknown domain', () => stack.relay.mailLog().find((r) => r.queueId === b && r.code === 'R'));
  assert.match(ra.answer ?? '', /^556 5\.1\.10 /);
  assert.match(rb.answer ?? '', /^550 5\.1\.2 /);
});

test('a message from <> that fails gets no DSN; NOTIFY=NEVER gets none either', async () => {
  // Notices the relay queued itself (from <>, client "internal").
  const notices = (): number => stack.relay.mailLog().filter((r) => r.code === 'E' && r.from === '' && r.remote === 'internal').length;
  const before = notices();
  const fromNull = await transport(stack.relay.port).sendMail({
    envelope: { from: '', to: 'nobody@remote.example' },
    from: 'MAILER-DAEMON@example.test',
    to: 'nobody@remote.example',
    subject: 'a bounce',
    text: 'x',
  });
  const never = await send('nobody@remote.example', { dsn: { notify: 'never' } });
  await waitFor('both returned', () =>
    [queueIdOf(fromNull.response), never].every((id) => stack.relay.mailLog().some((r) => r.queueId === id && r.code === 'R')),
  );
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(notices(), before);
});

test('STARTTLS is used when the MX offers it; NOTIFY and ORCPT are passed on to a DSN-capable server', async () => {
  const id = await send('someone@tls.example', { dsn: { notify: ['success', 'failure'], recipient: 'someone@tls.example', id: 'env-1' } });
  await waitFor('a D record', () => recordsFor(stack.relay.mailLog(), id).includes('D someone@tls.example'));
  const m = tlsMx.messages.at(-1)!;
  assert.equal(m.secure, true);
  assert.deepEqual(m.rcptDsn[0]?.notify, ['SUCCESS', 'FAILURE']);
  assert.equal(m.rcptDsn[0]?.orcpt, 'rfc822;someone@tls.example');
  // The next hop reports success itself: no success DSN from this relay.
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(reports('Successful Mail Delivery Report').filter((t) => t.includes(id)).length, 0);
});

test('NOTIFY=SUCCESS: "delivered" for a local mailbox, "relayed" through a server without DSN', async () => {
  const local = await send('bob@example.test', { dsn: { notify: 'success' } });
  const remote = await send('someone@nodsn.example', { dsn: { notify: 'success' } });
  const l = await waitFor('a success DSN for bob', () => reports('Successful Mail Delivery Report').find((t) => t.includes(local)));
  assert.match(l, /Final-Recipient: rfc822; bob@example\.test/);
  assert.match(l, /Action: delivered/);
  assert.match(l, /Status: 2\.0\.0/);
  assert.match(l, /Content-Type: text\/rfc822-headers/);
  const r = await waitFor('a relayed DSN', () => reports('Successful Mail Delivery Report').find((t) => t.includes(remote)));
  assert.match(r, /Action: relayed/);
  assert.equal(plainMx.messages.at(-1)?.rcptDsn[0], undefined, 'no DSN parameters to a server that did not offer DSN');
});

test('an MX that keeps deferring: a delay notice after the first period, the message returned (5.4.7) after the last', async () => {
  const id = await send('slow@remote.example');
  const delay = await waitFor('the delay notice', () => reports('Delayed Mail (still being retried)').find((t) => t.includes(id)), 30000);
  assert.match(delay, /Action: delayed/);
  assert.match(delay, /Status: 4\.2\.0/);
  assert.match(delay, /Will-Retry-Until: /);
  const bounce = await waitFor('the return', () => reports('Undelivered Mail Returned to Sender').find((t) => t.includes(id)), 30000);
  assert.match(bounce, /Status: 5\.4\.7/);
  assert.match(bounce, /delivery time expired .*last answer: 451 4\.2\.0 mailbox busy/);
  const codes = recordsFor(stack.relay.mailLog(), id).map((r) => r.split(' ')[0]);
  assert.equal(codes[0], 'E');
  assert.equal(codes.at(-1), 'R');
  assert.equal(codes.filter((c) => c === 'W').length, 1, 'one W record for the delay notice');
  assert.ok(codes.filter((c) => c === 'Q').length >= 3, codes.join(' '));
  // Gone from the spool once returned.
  const envelope = join(stack.relay.config.paths.var, 'spool', 'queue', id.slice(-2).toLowerCase(), `${id}.json`);
  await waitFor('the message gone from the spool', () => !existsSync(envelope));
  assert.equal(mx.messages.filter((m) => m.to.includes('slow@remote.example')).length, 0);
});

test('rewrite rules: a recipient in an old domain reaches the user; the envelope sender is rewritten', async () => {
  const before = inbox(stack.store, 'bob@example.test').length;
  const id = await send('bob@old.example.test', {}, 'alice@internal.example.test');
  await waitFor('delivered', () => recordsFor(stack.relay.mailLog(), id).includes('DL bob@example.test'));
  const e = stack.relay.mailLog().find((r) => r.queueId === id && r.code === 'E')!;
  assert.equal(e.orcpt, 'bob@old.example.test', 'the address given stays the original recipient');
  assert.equal(e.from, 'alice@example.test');
  const got = inbox(stack.store, 'bob@example.test').slice(before);
  assert.equal(got.length, 1);
  assert.match(got[0]!.text, /^Return-Path: <alice@example\.test>/);
});
