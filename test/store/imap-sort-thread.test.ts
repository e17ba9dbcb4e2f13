// SORT and THREAD (RFC 5256): base subjects, the two threading algorithms on their own, and
// SORT / UID SORT / THREAD over the wire with exact expected orders.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { baseSubject } from '@tiermail/store/imap/sort-keys';
import { orderedSubject, referencesThreads, type ThreadMessage } from '@tiermail/store/imap/threading';
import { deliver, RawImap, startImapFixture, type ImapFixture } from './imap-helpers.js';

test('base subject (RFC 5256 2.1)', () => {
  assert.equal(baseSubject('Re: Re: hello'), 'hello');
  assert.equal(baseSubject('Fwd: [list] Re[2]: hello (fwd)'), 'hello');
  assert.equal(baseSubject('[fwd: hello]'), 'hello');
  assert.equal(baseSubject('FW:   spaced    out  '), 'spaced out');
  assert.equal(baseSubject('[only a blob]'), '[only a blob]');
  assert.equal(baseSubject('=?utf-8?Q?Re=3A_caf=C3=A9?='), 'café');
});

const m = (id: number, subject: string, date: number, messageId: string | null, references: string[] = []): ThreadMessage => ({
  id,
  messageId,
  references,
  baseSubject: baseSubject(subject),
  isReply: baseSubject(subject) !== subject,
  date,
});

test('ORDEREDSUBJECT: groups by base subject, first message parents the rest, threads by date', () => {
  const msgs = [m(1, 'a', 10, null), m(2, 'Re: a', 20, null), m(3, 'b', 15, null), m(4, 'Re: a', 30, null), m(5, 'Re: b', 40, null)];
  assert.equal(orderedSubject(msgs), '(1 (2)(4))(3 5)');
});

test('REFERENCES: replies under their parents, missing parents as dummies, loops ignored', () => {
  const msgs = [
    m(1, 'start', 1, 'a@x'),
    m(2, 'Re: start', 2, 'b@x', ['a@x']),
    m(3, 'Re: start', 3, 'c@x', ['a@x', 'b@x']),
    m(4, 'Re: start', 4, 'd@x', ['a@x']),
    m(5, 'other', 5, 'e@x', ['lost@x']), // parent never seen: a dummy with one child is pruned
    m(6, 'Re: lonely', 6, 'f@x', ['gone@x']),
    m(7, 'Re: lonely', 7, 'g@x', ['gone@x']), // two children of a missing message
    m(8, 'loop', 8, 'h@x', ['h@x']),
  ];
  assert.equal(referencesThreads(msgs), '(1 (2 3)(4))(5)((6)(7))(8)');
});

let fx: ImapFixture;
before(async () => {
  fx = await startImapFixture();
  const msg = (subject: string, from: string, date: string, id: string, refs = '') =>
    Buffer.from(`From: ${from}\r\nSubject: ${subject}\r\nDate: ${date}\r\nMessage-ID: <${id}>\r\n${refs ? `References: ${refs}\r\n` : ''}\r\nx${'y'.repeat(subject.length)}\r\n`);
  await deliver(fx.store, 'bob@example.test', msg('beta', 'Zed <zed@example.org>', 'Tue, 2 Jan 2024 10:00:00 +0000', 'm1@x'));
  await deliver(fx.store, 'bob@example.test', msg('Re: alpha', 'amy@example.org', 'Mon, 1 Jan 2024 10:00:00 +0000', 'm2@x', '<m3@x>'));
  await deliver(fx.store, 'bob@example.test', msg('alpha', 'Bo <bo@example.org>', 'Sun, 31 Dec 2023 23:00:00 -0300', 'm3@x'));
});
after(async () => {
  await fx.stop();
});

test('SORT, UID SORT and THREAD over the wire', async () => {
  const { client } = await RawImap.open(fx.port);
  await client.command('l', 'LOGIN bob demo-password');
  await client.command('s', 'SELECT INBOX');
  // Subjects alpha (3), alpha (2), beta (1); ties by sequence number.
  assert.deepEqual(await client.command('a', 'SORT (SUBJECT) UTF-8 ALL'), ['* SORT 2 3 1', 'a OK SORT completed']);
  // Sent dates: 3 is 2024-01-01 02:00 UTC, 2 is 10:00 the same day, 1 the next day.
  assert.deepEqual(await client.command('b', 'SORT (DATE) UTF-8 ALL'), ['* SORT 3 2 1', 'b OK SORT completed']);
  assert.deepEqual(await client.command('c', 'SORT (REVERSE FROM) US-ASCII ALL'), ['* SORT 1 3 2', 'c OK SORT completed']);
  assert.deepEqual(await client.command('d', 'UID SORT (SIZE) UTF-8 NOT SUBJECT beta'), ['* SORT 3 2', 'd OK UID SORT completed']);
  assert.deepEqual(await client.command('e', 'THREAD REFERENCES UTF-8 ALL'), ['* THREAD (3 2)(1)', 'e OK THREAD completed']);
  assert.deepEqual(await client.command('f', 'THREAD ORDEREDSUBJECT UTF-8 ALL'), ['* THREAD (3 2)(1)', 'f OK THREAD completed']);
  assert.deepEqual(await client.command('g', 'SORT (BOGUS) UTF-8 ALL'), ['g BAD Unknown sort key BOGUS']);
  assert.deepEqual(await client.command('h', 'SORT (DATE) KOI8-R ALL'), ['h NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset KOI8-R']);
  assert.deepEqual(await client.command('i', 'THREAD JWZ UTF-8 ALL'), ['i BAD Unknown threading algorithm JWZ']);
  client.close();
});
