// ENVELOPE and BODYSTRUCTURE of a hand-written corpus (RFC 3501 7.4.2), each expectation
// written from the RFCs (reasons in the comments), then a few over the wire with imapflow and
// section fetches (part numbers, MIME, HEADER/TEXT of an attached message). Hostile shapes at
// the end must be answered quickly and keep the server up.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { bodyStructure, envelope } from '@tiermail/store/mime/imap-structure';
import { parseMessage } from '@tiermail/store/mime/structure';
import { deliver, RawImap, startImapFixture, type ImapFixture } from './imap-helpers.js';

const crlf = (lines: string[]): Buffer => Buffer.from(lines.join('\r\n'), 'utf8');

const CORPUS: Record<string, { msg: Buffer; envelope?: string; body: string }> = {
  // 1. Plain text, no MIME headers: text/plain; charset=us-ascii and 7bit by default (RFC 2045
  // 5.2, 6.1). Body "Hi Bob,\r\nbye.\r\n" is 15 octets, 2 lines. Sender and Reply-To default to From.
  simple: {
    msg: crlf(['From: Alice Smith <alice@example.test>', 'To: bob@example.test', 'Subject: Hello', 'Date: Mon, 1 Jan 2024 10:00:00 +0000', 'Message-ID: <1@example.test>', '', 'Hi Bob,', 'bye.', '']),
    envelope:
      '("Mon, 1 Jan 2024 10:00:00 +0000" "Hello" (("Alice Smith" NIL "alice" "example.test")) (("Alice Smith" NIL "alice" "example.test")) (("Alice Smith" NIL "alice" "example.test")) ((NIL NIL "bob" "example.test")) NIL NIL NIL "<1@example.test>")',
    body: '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 15 2 NIL NIL NIL NIL)',
  },
  // 2. Quoted-printable: the size is of the encoded body ("Caf=C3=A9\r\n" = 11 octets, 1 line).
  qp: {
    msg: crlf(['From: a@example.test', 'Content-Type: text/plain; charset="utf-8"', 'Content-Transfer-Encoding: quoted-printable', '', 'Caf=C3=A9', '']),
    body: '("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 11 1 NIL NIL NIL NIL)',
  },
  // 3. multipart/alternative: the CRLF before a boundary belongs to the boundary (RFC 2046
  // 5.1.1), so the parts are "plain" (5 octets) and "<p>html</p>" (11); an unterminated last
  // line is still a line. Multipart extension data: parameters, disposition, language, location.
  alternative: {
    msg: crlf([
      'From: a@example.test',
      'MIME-Version: 1.0',
      'Content-Type: multipart/alternative; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      'plain',
      '--b1',
      'Content-Type: text/html; charset=us-ascii',
      '',
      '<p>html</p>',
      '--b1--',
      '',
    ]),
    body: '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 1 NIL NIL NIL NIL)("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 11 1 NIL NIL NIL NIL) "alternative" ("boundary" "b1") NIL NIL NIL)',
  },
  // 4. An attachment: non-text parts have no line count; the disposition and its RFC 2231
  // parameter are passed as written (clients decode them), Content-ID and description too.
  attachment: {
    msg: crlf([
      'From: a@example.test',
      'Content-Type: multipart/mixed; boundary=XX',
      '',
      'preamble is ignored',
      '--XX',
      '',
      'see attached',
      '',
      '--XX',
      'Content-Type: application/pdf; name="r.pdf"',
      'Content-Disposition: attachment; filename*=utf-8\'\'r%C3%A9sum%C3%A9.pdf',
      'Content-Transfer-Encoding: base64',
      'Content-ID: <pdf1@example.test>',
      'Content-Description: the CV',
      '',
      'JVBERi0=',
      '',
      '--XX--',
      'epilogue too',
    ]),
    body: '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 14 1 NIL NIL NIL NIL)("application" "pdf" ("name" "r.pdf") "<pdf1@example.test>" "the CV" "base64" 10 NIL ("attachment" ("filename*" "utf-8\'\'r%C3%A9sum%C3%A9.pdf")) NIL NIL) "mixed" ("boundary" "XX") NIL NIL NIL)',
  },
  // 5. Nested: mixed containing alternative and an inline image with a language.
  nested: {
    msg: crlf([
      'Content-Type: multipart/mixed; boundary="outer"',
      '',
      '--outer',
      'Content-Type: multipart/alternative; boundary="inner"',
      '',
      '--inner',
      'Content-Type: text/plain',
      '',
      'a',
      '--inner',
      'Content-Type: text/html',
      '',
      'b',
      '--inner--',
      '--outer',
      'Content-Type: image/png',
      'Content-Disposition: inline',
      'Content-Language: en, de',
      'Content-Location: http://example.test/i.png',
      '',
      'PNG',
      '--outer--',
    ]),
    // text/plain without charset: no parameters at all (the default applies only when the
    // header is missing entirely) — params NIL.
    body: '((("text" "plain" NIL NIL NIL "7bit" 1 1 NIL NIL NIL NIL)("text" "html" NIL NIL NIL "7bit" 1 1 NIL NIL NIL NIL) "alternative" ("boundary" "inner") NIL NIL NIL)("image" "png" NIL NIL NIL "7bit" 3 NIL ("inline" NIL) ("en" "de") "http://example.test/i.png") "mixed" ("boundary" "outer") NIL NIL NIL)',
  },
  // 6. message/rfc822: envelope and body structure of the attached message, then its lines.
  forwarded: {
    msg: crlf([
      'From: fwd@example.test',
      'Content-Type: multipart/mixed; boundary=F',
      '',
      '--F',
      'Content-Type: message/rfc822',
      '',
      'From: orig@example.org',
      'Subject: original',
      'Content-Type: multipart/alternative; boundary=G',
      '',
      '--G',
      '',
      'x',
      '--G--',
      '--F--',
    ]),
    // The encapsulated body is "From...--G--" = 6 lines (4 header lines incl. blank, then
    // "--G", "", "x", "--G--": 9 lines in all; see the size in the test below).
    body: 'computed-below',
  },
  // 7. Encoded words stay encoded in ENVELOPE (RFC 3501: the envelope is the raw header).
  encoded: {
    msg: crlf(['From: =?iso-8859-1?Q?Andr=E9?= <andre@example.org>', 'Subject: =?utf-8?B?w6lsw6k=?=', '', 'x']),
    envelope:
      '(NIL "=?utf-8?B?w6lsw6k=?=" (("=?iso-8859-1?Q?Andr=E9?=" NIL "andre" "example.org")) (("=?iso-8859-1?Q?Andr=E9?=" NIL "andre" "example.org")) (("=?iso-8859-1?Q?Andr=E9?=" NIL "andre" "example.org")) NIL NIL NIL NIL NIL)',
    body: '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 1 NIL NIL NIL NIL)',
  },
  // 8. No headers we know: every envelope field NIL.
  bare: {
    msg: crlf(['X-Nothing: here', '', 'body', '']),
    envelope: '(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)',
    body: '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1 NIL NIL NIL NIL)',
  },
  // 9. Groups (RFC 3501: start (NIL NIL "name" NIL), members, end (NIL NIL NIL NIL)); an
  // empty group has only the markers; quoted display names lose their quotes.
  groups: {
    msg: crlf(['From: "Smith, Jo" <jo@example.test>', 'To: undisclosed-recipients:;', 'Cc: Team: a@x.example, B <b@y.example>;, c@z.example', '', 'x']),
    envelope:
      '(NIL NIL (("Smith, Jo" NIL "jo" "example.test")) (("Smith, Jo" NIL "jo" "example.test")) (("Smith, Jo" NIL "jo" "example.test")) ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) ((NIL NIL "Team" NIL)(NIL NIL "a" "x.example")("B" NIL "b" "y.example")(NIL NIL NIL NIL)(NIL NIL "c" "z.example")) NIL NIL NIL)',
    body: '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 1 NIL NIL NIL NIL)',
  },
  // 10. Bare LF line ends: parsed the same way; sizes count the bytes as stored.
  bareLf: {
    msg: Buffer.from('Subject: lf\nContent-Type: multipart/mixed; boundary=L\n\n--L\n\none\n--L\n\ntwo\n--L--\n'),
    body: '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 1 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 1 NIL NIL NIL NIL) "mixed" ("boundary" "L") NIL NIL NIL)',
  },
  // 11. No closing boundary: the last part runs to the end of the message.
  unclosed: {
    msg: crlf(['Content-Type: multipart/mixed; boundary=U', '', '--U', '', 'first', '--U', '', 'second, never closed', '']),
    body: '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 1 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 22 1 NIL NIL NIL NIL) "mixed" ("boundary" "U") NIL NIL NIL)',
  },
  // 12. multipart/digest: parts without Content-Type are message/rfc822 (RFC 2046 5.1.5); the
  // part has an empty MIME header, so its body is "Subject: one\r\n\r\nbody one" (24 octets, 3 lines).
  digest: {
    msg: crlf(['Content-Type: multipart/digest; boundary=D', '', '--D', '', 'Subject: one', '', 'body one', '--D--']),
    body: '(("message" "rfc822" NIL NIL NIL "7bit" 24 (NIL "one" NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 8 1 NIL NIL NIL NIL) 3 NIL NIL NIL NIL) "digest" ("boundary" "D") NIL NIL NIL)',
  },
};

for (const [name, c] of Object.entries(CORPUS)) {
  if (c.body === 'computed-below') continue;
  test(`corpus ${name}: BODYSTRUCTURE${c.envelope ? ' and ENVELOPE' : ''} as RFC 3501 says`, () => {
    const tree = parseMessage(c.msg);
    assert.equal(bodyStructure(tree, true), c.body);
    if (c.envelope) assert.equal(envelope(tree), c.envelope);
  });
}

test('corpus forwarded: message/rfc822 carries the inner envelope, structure and lines', () => {
  const tree = parseMessage(CORPUS.forwarded!.msg);
  const inner = 'From: orig@example.org\r\nSubject: original\r\nContent-Type: multipart/alternative; boundary=G\r\n\r\n--G\r\n\r\nx\r\n--G--';
  assert.equal(
    bodyStructure(tree, true),
    `(("message" "rfc822" NIL NIL NIL "7bit" ${inner.length} (NIL "original" ((NIL NIL "orig" "example.org")) ((NIL NIL "orig" "example.org")) ((NIL NIL "orig" "example.org")) NIL NIL NIL NIL NIL) (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 1 NIL NIL NIL NIL) "alternative" ("boundary" "G") NIL NIL NIL) 8 NIL NIL NIL NIL) "mixed" ("boundary" "F") NIL NIL NIL)`,
  );
  // BODY (no extension data) drops md5/disposition/language/location and multipart params.
  assert.equal(
    bodyStructure(tree, false),
    `(("message" "rfc822" NIL NIL NIL "7bit" ${inner.length} (NIL "original" ((NIL NIL "orig" "example.org")) ((NIL NIL "orig" "example.org")) ((NIL NIL "orig" "example.org")) NIL NIL NIL NIL NIL) (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 1) "alternative") 8) "mixed")`,
  );
});

let fx: ImapFixture;
before(async () => {
  fx = await startImapFixture();
});
after(async () => {
  await fx.stop();
});

test('over the wire: sections by part number, MIME, HEADER/TEXT of an attached message; imapflow', async () => {
  const uid = await deliver(fx.store, 'bob@example.test', CORPUS.forwarded!.msg);
  await deliver(fx.store, 'bob@example.test', CORPUS.attachment!.msg);
  const { client } = await RawImap.open(fx.port);
  await client.command('l', 'LOGIN bob demo-password');
  await client.command('s', 'SELECT INBOX');
  assert.deepEqual(await client.command('a', 'FETCH 1 (BODY.PEEK[1.HEADER.FIELDS (SUBJECT)] BODY.PEEK[1.TEXT] BODY.PEEK[1.MIME] BODY.PEEK[1.1])'), [
    '* 1 FETCH (BODY[1.HEADER.FIELDS (SUBJECT)] {21}\r\nSubject: original\r\n\r\n BODY[1.TEXT] {15}\r\n--G\r\n\r\nx\r\n--G-- BODY[1.MIME] {32}\r\nContent-Type: message/rfc822\r\n\r\n BODY[1.1] {1}\r\nx)',
    'a OK FETCH completed',
  ]);
  assert.deepEqual(await client.command('b', 'FETCH 2 (BODY.PEEK[2]<0.4> BODY.PEEK[3] BODY.PEEK[1.1.1])'), [
    '* 2 FETCH (BODY[2]<0> {4}\r\nJVBE BODY[3] {0}\r\n BODY[1.1.1] {0}\r\n)',
    'b OK FETCH completed',
  ]);
  assert.deepEqual(await client.command('c', 'FETCH 1 BODY.PEEK[0]'), ['c BAD Section part numbers start at 1']);
  const all = await client.command('d', 'FETCH 2 ALL');
  assert.match(all[0]!, /^\* 2 FETCH \(FLAGS \(\) INTERNALDATE "[^"]+" RFC822\.SIZE \d+ ENVELOPE \(NIL NIL \(\(NIL NIL "a" "example\.test"\)\)/);
  client.close();

  const flow = new ImapFlow({ host: '127.0.0.1', port: fx.port, secure: false, auth: { user: 'bob', pass: 'demo-password' }, logger: false });
  await flow.connect();
  const lock = await flow.getMailboxLock('INBOX');
  try {
    const m = await flow.fetchOne(String(uid), { bodyStructure: true, envelope: true }, { uid: true });
    assert.ok(m);
    assert.equal(m.bodyStructure?.type, 'multipart/mixed');
    assert.equal(m.bodyStructure?.childNodes?.[0]?.type, 'message/rfc822');
    const a = await flow.fetchOne('2', { bodyStructure: true });
    assert.ok(a);
    // imapflow decodes the RFC 2231 filename itself.
    assert.equal(a.bodyStructure?.childNodes?.[1]?.dispositionParameters?.filename, 'résumé.pdf');
  } finally {
    lock.release();
    await flow.logout();
  }
});

test('hostile structures: deep nesting and thousands of parts are bounded, the server answers', async () => {
  let deep = 'x';
  for (let i = 0; i < 10000; i++) deep = `Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n${deep}\r\n--b${i}--`;
  const many = ['Content-Type: multipart/mixed; boundary=m', ''];
  for (let i = 0; i < 20000; i++) many.push('--m', '', `p${i}`);
  const started = Date.now();
  const t1 = parseMessage(Buffer.from(deep));
  const t2 = parseMessage(crlf(many));
  assert.ok(bodyStructure(t1, true).length > 0 && bodyStructure(t2, true).length > 0);
  assert.ok(Date.now() - started < 20000);
  await deliver(fx.store, 'alice@example.test', Buffer.from(deep));
  const { client } = await RawImap.open(fx.port);
  await client.command('l', 'LOGIN alice demo-password');
  await client.command('s', 'SELECT INBOX');
  const r = await client.command('a', 'FETCH 1:* (BODYSTRUCTURE)');
  assert.equal(r.at(-1), 'a OK FETCH completed');
  assert.deepEqual(await client.command('b', 'NOOP'), ['b OK NOOP completed']);
  client.close();
});
