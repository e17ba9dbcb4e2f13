// The DSN builder alone (pure): RFC 3464 structure, status codes taken from answers, headers
// only for RET=HDRS and oversize messages, and output the relay's own message scanner (and so
// the store) accepts: CRLF only, a well-formed header.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simpleParser } from 'mailparser';
import { MessageScanner } from '@tiermail/mta';
import { buildDsn, headerPart, statusOf, type DsnInput } from '@tiermail/mta/dsn/report';

const original = Buffer.from('Received: from x\r\nSubject: hello\r\nFrom: a@example.org\r\n\r\nbody line 1\r\nbody \xe9 8bit\r\n', 'latin1');

function input(over: Partial<DsnInput> = {}): DsnInput {
  return {
    kind: 'failure',
    reportingMta: 'relay1.example.test',
    queueId: '0MWVNC9XMF8C6C542C6',
    arrivalDate: new Date('2026-11-25T04:00:00Z'),
    to: 'a@example.org',
    recipients: [
      {
        finalRecipient: 'bob@remote.example',
        originalRecipient: 'rfc822;Bob@Remote.Example',
        action: 'failed',
        status: '5.1.1',
        remoteMta: 'mx.remote.example',
        diagnostic: '550 5.1.1 no such user\r\nInjected: header',
        lastAttempt: new Date('2026-11-25T04:00:01Z'),
      },
    ],
    original,
    originalComplete: true,
    ret: 'FULL',
    now: new Date('2026-11-25T04:00:02Z'),
    ...over,
  };
}

function scan(b: Buffer): ReturnType<MessageScanner['result']> {
  const s = new MessageScanner();
  s.push(b);
  return s.result();
}

test('statusOf takes the enhanced code of an answer, or derives one from its class', () => {
  assert.equal(statusOf('550 5.1.1 no such user'), '5.1.1');
  assert.equal(statusOf('451-4.7.1 greylisted'), '4.7.1');
  assert.equal(statusOf('554 no enhanced code'), '5.0.0');
  assert.equal(statusOf('421 closing'), '4.0.0');
  assert.equal(statusOf('garbage'), '5.0.0');
});

test('a failure DSN is a multipart/report the relay and a MIME parser both accept', async () => {
  const dsn = buildDsn(input());
  assert.equal(scan(dsn.content).problem, null);
  assert.equal(dsn.eightBit, true, 'the returned body has 8-bit data');
  const text = dsn.content.toString('latin1');
  assert.ok(!/[^\r]\n/.test(text), 'CRLF line ends only');
  assert.match(text, /^Final-Recipient: rfc822; bob@remote\.example\r$/m);
  assert.match(text, /^Original-Recipient: rfc822;Bob@Remote\.Example\r$/m);
  // A line break in a remote answer cannot add a field of its own.
  assert.match(text, /^Diagnostic-Code: smtp; 550 5\.1\.1 no such user Injected: header\r$/m);
  assert.doesNotMatch(text, /^Injected:/m);
  const parsed = await simpleParser(dsn.content);
  assert.equal(parsed.subject, 'Undelivered Mail Returned to Sender');
  assert.equal(parsed.messageId, dsn.messageId);
  assert.equal(parsed.headers.get('auto-submitted'), 'auto-replied');
  // (mailparser shows the delivery-status part as text; the returned message is an attachment.)
  assert.deepEqual(parsed.attachments.map((a) => a.contentType), ['message/rfc822']);
  assert.match(parsed.text ?? '', /could not be delivered[\s\S]*<bob@remote\.example>: 550 5\.1\.1/);
});

test('RET=HDRS and a message cut at the size limit return the header only', () => {
  for (const over of [{ ret: 'HDRS' as const }, { originalComplete: false }]) {
    const text = buildDsn(input(over)).content.toString('latin1');
    assert.match(text, /Content-Type: text\/rfc822-headers/);
    assert.match(text, /Subject: hello/);
    assert.doesNotMatch(text, /body line 1/);
  }
  assert.equal(headerPart(Buffer.from('A: b\r\n\r\nbody')).toString(), 'A: b\r\n\r\n');
  assert.equal(headerPart(Buffer.from('A: b\r\n')).toString(), 'A: b\r\n');
});

test('delay and success reports name their action and subject', () => {
  const delay = buildDsn(input({ kind: 'delay', recipients: [{ finalRecipient: 'x@y', action: 'delayed', status: '4.2.0', willRetryUntil: new Date('2026-12-01T00:00:00Z') }] }));
  const t = delay.content.toString('latin1');
  assert.match(t, /Subject: Delayed Mail \(still being retried\)/);
  assert.match(t, /Action: delayed\r\nStatus: 4\.2\.0\r\nWill-Retry-Until: Tue, 01 Dec 2026 00:00:00 \+0000/);
  const ok = buildDsn(input({ kind: 'success', envid: 'abc', recipients: [{ finalRecipient: 'x@y', action: 'delivered', status: '2.0.0' }] }));
  assert.match(ok.content.toString('latin1'), /Original-Envelope-Id: abc[\s\S]*Action: delivered/);
});
