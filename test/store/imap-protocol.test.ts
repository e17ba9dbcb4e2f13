// The IMAP server over a raw socket: exact responses, bad input (malformed and unknown
// commands, oversized literals, binary junk and NUL bytes), limits and the less common
// commands that the real clients in imap-clients.test.ts do not exercise.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startImapServer } from '@tiermail/store/imap/index';
import { deliver, RawImap, rfc822, startImapFixture, type ImapFixture } from './imap-helpers.js';

let fx: ImapFixture;
const ALICE = 'alice@example.test';
const PLAIN = Buffer.from('\0alice\0demo-password').toString('base64');

before(async () => {
  fx = await startImapFixture({ maxAppendBytes: 4096, maxPreAuthLiteralBytes: 256, maxBadCommands: 8 });
});
after(async () => {
  await fx?.stop();
});

async function loggedIn(): Promise<RawImap> {
  const { client } = await RawImap.open(fx.port);
  const r = await client.command('L', `AUTHENTICATE PLAIN ${PLAIN}`);
  assert.match(r.at(-1)!, /^L OK \[CAPABILITY [^\]]*UIDPLUS[^\]]*\] Logged in$/);
  return client;
}

test('greeting and CAPABILITY say exactly what works, per state', async () => {
  const { client, greeting } = await RawImap.open(fx.port);
  assert.equal(greeting, '* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ID ENABLE AUTH=PLAIN] tiermail IMAP4rev1 ready');
  assert.deepEqual(await client.command('a', 'CAPABILITY'), ['* CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ID ENABLE AUTH=PLAIN', 'a OK CAPABILITY completed']);
  assert.deepEqual(await client.command('b', 'SELECT INBOX'), ['b BAD SELECT requires authentication']);
  assert.deepEqual(await client.command('c', 'ID ("name" "raw" "version" NIL)'), ['* ID ("name" "tiermail" "vendor" "tiermail")', 'c OK ID completed']);
  assert.deepEqual(await client.command('d', 'NOOP'), ['d OK NOOP completed']);
  // LOGIN with synchronizing literals: a continuation for each.
  client.write('e LOGIN {5}\r\n');
  assert.equal(await client.line(), '+ Ready for literal data');
  client.write('alice {13}\r\n');
  assert.equal(await client.line(), '+ Ready for literal data');
  client.write('demo-password\r\n');
  const r = await client.tagged('e');
  assert.equal(r.at(-1), 'e OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ID ENABLE UNSELECT UIDPLUS CHILDREN SPECIAL-USE MOVE IDLE NAMESPACE QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE LIST-EXTENDED LIST-STATUS STATUS=SIZE MULTIAPPEND ACL RIGHTS=kxte CONDSTORE QRESYNC SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES] Logged in');
  assert.deepEqual(await client.command('f', 'LOGIN alice demo-password'), ['f BAD Already authenticated']);
  assert.deepEqual(await client.command('g', 'ENABLE X-UNKNOWN'), ['* ENABLED', 'g OK ENABLE completed']);
  assert.deepEqual(await client.command('h', 'LOGOUT'), ['* BYE Logging out', 'h OK LOGOUT completed']);
  assert.ok(await client.closed());
});

test('AUTHENTICATE PLAIN with a continuation; cancel; bad base64; wrong password; too many failures', async () => {
  const { client } = await RawImap.open(fx.port);
  client.write('a AUTHENTICATE PLAIN\r\n');
  assert.equal(await client.line(), '+ ');
  client.write('*\r\n');
  assert.deepEqual(await client.tagged('a'), ['a BAD Authentication cancelled']);
  client.write('b AUTHENTICATE PLAIN\r\n');
  assert.equal(await client.line(), '+ ');
  client.write('not base64!\r\n');
  assert.deepEqual(await client.tagged('b'), ['b BAD Invalid base64 data']);
  assert.deepEqual(await client.command('c', 'AUTHENTICATE CRAM-MD5'), ['c NO [CANNOT] Unsupported authentication mechanism']);
  assert.deepEqual(await client.command('d', 'LOGIN alice wrong'), ['d NO [AUTHENTICATIONFAILED] Authentication failed']);
  assert.deepEqual(await client.command('e', 'LOGIN nobody wrong'), ['e NO [AUTHENTICATIONFAILED] Authentication failed']);
  const last = await client.command('f', `AUTHENTICATE PLAIN ${Buffer.from('\0alice\0nope').toString('base64')}`);
  assert.deepEqual(last, ['* BYE Too many failed logins', 'f NO [AUTHENTICATIONFAILED] Authentication failed']);
  assert.ok(await client.closed());

  const again = await RawImap.open(fx.port);
  again.client.write('g AUTHENTICATE PLAIN\r\n');
  assert.equal(await again.client.line(), '+ ');
  again.client.write(`${PLAIN}\r\n`);
  assert.match((await again.client.tagged('g')).at(-1)!, /^g OK \[CAPABILITY .*\] Logged in$/);
  again.client.close();
});

test('malformed and unknown commands answer BAD with the tag; the session goes on', async () => {
  const client = await loggedIn();
  assert.deepEqual(await client.command('a1', 'FROB'), ['a1 BAD Unknown command FROB']);
  assert.deepEqual(await client.command('a2', 'UID FROB 1 x'), ['a2 BAD Unknown command UID FROB']);
  assert.deepEqual(await client.command('a3', 'FETCH 1 FLAGS'), ['a3 BAD No mailbox selected']);
  assert.deepEqual(await client.command('a4', 'SELECT'), ['a4 BAD Missing mailbox name']);
  assert.deepEqual(await client.command('a5', 'SELECT INBOX extra'), ['a5 BAD Expected select parameters as a list']);
  // A good command resets the count of bad ones in a row.
  assert.deepEqual(await client.command('ok', 'NOOP'), ['ok OK NOOP completed']);
  assert.deepEqual(await client.command('a6', 'LIST "" ("unclosed"'), ['a6 BAD Unterminated list']);
  assert.deepEqual(await client.command('a7', 'STATUS INBOX (BOGUS)'), ['a7 BAD Invalid status item']);
  client.write('+bad NOOP\r\n');
  assert.deepEqual(await client.tagged('*'), ['* BAD Missing or invalid tag']);
  assert.deepEqual(await client.command('a8', 'NOOP'), ['a8 OK NOOP completed']);
  client.close();
});

test('binary junk and NUL bytes neither crash nor desynchronise the session', async () => {
  const client = await loggedIn();
  client.write(Buffer.from('x1 NOOP \0\0\r\n\0\0\0\r\n\xff\xfe\x01 (((( "\r\n', 'latin1'));
  assert.deepEqual(await client.tagged('x1'), ['x1 BAD Invalid character in command']);
  assert.equal(await client.line(), '* BAD Missing or invalid tag');
  assert.equal(await client.line(), '* BAD Missing or invalid tag');
  const junk = Buffer.alloc(3000);
  for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919) % 256 === 10 ? 0 : (i * 7919) % 256;
  client.write(Buffer.concat([Buffer.from('x2 LOGIN '), junk, Buffer.from('\r\n')]));
  assert.match((await client.tagged('x2')).at(-1)!, /^x2 BAD /);
  assert.deepEqual(await client.command('x3', 'NOOP'), ['x3 OK NOOP completed']);
  client.close();
});

test('literals over the limit are refused without being read; the session stays in step', async () => {
  // Before login: a synchronizing literal above the pre-auth limit gets NO [TOOBIG], no "+".
  const pre = await RawImap.open(fx.port);
  pre.client.write('p1 LOGIN {100000}\r\n');
  assert.deepEqual(await pre.client.tagged('p1'), ['p1 NO [TOOBIG] Literal too big']);
  assert.deepEqual(await pre.client.command('p2', 'NOOP'), ['p2 OK NOOP completed']);
  pre.client.close();

  const client = await loggedIn();
  client.write('t1 APPEND INBOX {5000}\r\n');
  assert.deepEqual(await client.tagged('t1'), ['t1 NO [TOOBIG] Literal too big']);
  // LITERAL+: the bytes come anyway; they are skipped (the server answers before they end).
  const big = Buffer.alloc(200_000, 'x');
  client.write(`t2 APPEND INBOX {${big.length}+}\r\n`);
  assert.deepEqual(await client.tagged('t2'), ['t2 BAD [TOOBIG] Literal too big']);
  client.write(Buffer.concat([big, Buffer.from('\r\nt3 NOOP\r\n')]));
  assert.deepEqual(await client.tagged('t3'), ['t3 OK NOOP completed']);
  // A literal within the limit is fine; other commands keep the smaller limit.
  const msg = rfc822('small enough');
  client.write(Buffer.concat([Buffer.from(`t4 APPEND INBOX {${msg.length}+}\r\n`), msg, Buffer.from('\r\n')]));
  assert.match((await client.tagged('t4')).at(-1)!, /^t4 OK \[APPENDUID \d+ \d+\] APPEND completed$/);
  client.write('t5 APPEND INBOX {0}\r\n');
  assert.equal(await client.line(), '+ Ready for literal data');
  client.write('\r\n');
  assert.deepEqual(await client.tagged('t5'), ['t5 NO Cannot append an empty message']);
  client.write(`t6 APPEND INBOX (\\Recent) {${msg.length}+}\r\n`);
  client.write(Buffer.concat([msg, Buffer.from('\r\n')]));
  assert.deepEqual(await client.tagged('t6'), ['t6 BAD Invalid system flag \\Recent']);
  client.close();
});

test('too many bad commands in a row end the session with BYE', async () => {
  const client = await loggedIn();
  client.write('z BOGUS\r\n'.repeat(10));
  const lines: string[] = [];
  for (let i = 0; i < 9; i++) lines.push(await client.line());
  assert.equal(lines.filter((l) => l === 'z BAD Unknown command BOGUS').length, 8);
  assert.equal(lines[8], '* BYE Too many invalid commands');
  assert.ok(await client.closed());
});

test('SELECT responses, FETCH sections and partials, STORE replies, EXAMINE is read-only', async () => {
  const s = fx.store.openUser(ALICE);
  s.createMailbox('Fetch');
  s.close();
  const body = 'Line one\r\nLine two\r\n';
  const msg = rfc822('fetch me', body, 'X-Tag: yes\r\n');
  const uid = await deliver(fx.store, ALICE, msg, 'Fetch');
  const client = await loggedIn();
  const sel = await client.command('s1', 'SELECT Fetch');
  assert.deepEqual(sel.slice(0, 5), [
    '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)',
    '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted',
    '* 1 EXISTS',
    '* 0 RECENT',
    '* OK [UNSEEN 1] First unseen',
  ]);
  assert.match(sel[5]!, /^\* OK \[UIDVALIDITY \d+\] UIDs valid$/);
  assert.equal(sel[6], `* OK [UIDNEXT ${uid + 1}] Predicted next UID`);
  assert.equal(sel[7], 's1 OK [READ-WRITE] SELECT completed');

  const header = msg.subarray(0, msg.indexOf('\r\n\r\n') + 4).toString('latin1');
  let r = await client.command('f1', 'FETCH 1 (BODY.PEEK[HEADER] RFC822.SIZE)');
  assert.equal(r[0], `* 1 FETCH (BODY[HEADER] {${header.length}}\r\n${header} RFC822.SIZE ${msg.length})`);
  r = await client.command('f2', 'FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (From To Date Message-ID)] BODY.PEEK[]<5.4> BODY.PEEK[TEXT]<100.5>)');
  assert.equal(r[0], '* 1 FETCH (BODY[HEADER.FIELDS.NOT (FROM TO DATE MESSAGE-ID)] {33}\r\nSubject: fetch me\r\nX-Tag: yes\r\n\r\n BODY[]<5> {4}\r\n Car BODY[TEXT]<100> {0}\r\n)');
  r = await client.command('f3', 'FETCH 1 RFC822.HEADER');
  assert.equal(r[0], `* 1 FETCH (RFC822.HEADER {${header.length}}\r\n${header})`);
  r = await client.command('f4', 'UID FETCH 1:* (RFC822.TEXT)');
  assert.equal(r[0], `* 1 FETCH (UID ${uid} RFC822.TEXT {${body.length}}\r\n${body} FLAGS (\\Seen))`);
  r = await client.command('f5', 'FETCH 1 ENVELOPE');
  assert.deepEqual(r, [
    '* 1 FETCH (ENVELOPE ("Tue, 14 Jan 2025 10:00:00 +0100" "fetch me" (("Carol" NIL "carol" "example.org")) (("Carol" NIL "carol" "example.org")) (("Carol" NIL "carol" "example.org")) ((NIL NIL "alice" "example.test")) NIL NIL NIL "<fetchme@example.org>"))',
    'f5 OK FETCH completed',
  ]);
  assert.deepEqual(await client.command('f6', 'FETCH 2 FLAGS'), ['f6 BAD Invalid message sequence number']);
  assert.deepEqual(await client.command('f7', 'FETCH 1 (FLAGS'), ['f7 BAD Unterminated list']);
  assert.deepEqual(await client.command('f8', 'UID FETCH 999 FLAGS'), ['f8 OK UID FETCH completed']);
  // Part 1 of a message that is not multipart is its body (RFC 3501 6.4.5).
  assert.deepEqual(await client.command('f9', 'FETCH 1 BODY.PEEK[1]'), [`* 1 FETCH (BODY[1] {${body.length}}\r\n${body})`, 'f9 OK FETCH completed']);
  assert.deepEqual(await client.command('f9b', 'FETCH 1 BINARY[1]'), ['f9b NO [CANNOT] FETCH BINARY[...] is not supported yet']);
  r = await client.command('f10', 'FETCH 1 (FLAGS INTERNALDATE)');
  assert.match(r[0]!, /^\* 1 FETCH \(FLAGS \(\\Seen\) INTERNALDATE "\d{2}-[A-Z][a-z]{2}-\d{4} \d{2}:\d{2}:\d{2} \+0000"\)$/);

  assert.deepEqual(await client.command('w1', 'STORE 1 +FLAGS (\\Flagged $Important)'), [
    '* 1 FETCH (FLAGS ($Important \\Flagged \\Seen))',
    'w1 OK STORE completed',
  ]);
  assert.deepEqual(await client.command('w2', `UID STORE ${uid} -FLAGS.SILENT \\Flagged`), ['w2 OK UID STORE completed']);
  assert.deepEqual(await client.command('w3', 'STORE 1 FLAGS ()'), ['* 1 FETCH (FLAGS ())', 'w3 OK STORE completed']);
  assert.deepEqual(await client.command('w4', 'STORE 1 +FLAGS (\\Bogus)'), ['w4 BAD Invalid system flag \\Bogus']);
  assert.deepEqual(await client.command('w5', 'STORE 1 FLAGGED (\\Seen)'), ['w5 BAD Invalid STORE item (FLAGS, +FLAGS or -FLAGS, optionally .SILENT)']);

  const ex = await client.command('e1', 'EXAMINE Fetch');
  assert.equal(ex[1], '* OK [PERMANENTFLAGS ()] Flags permitted');
  assert.equal(ex.at(-1), 'e1 OK [READ-ONLY] EXAMINE completed');
  assert.deepEqual(await client.command('e2', 'STORE 1 +FLAGS (\\Seen)'), ['e2 NO [READ-ONLY] Mailbox is read-only']);
  assert.deepEqual(await client.command('e3', 'FETCH 1 (BODY[TEXT]<0.4>)'), ['* 1 FETCH (BODY[TEXT]<0> {4}\r\nLine)', 'e3 OK FETCH completed']);
  assert.deepEqual(await client.command('e4', 'FETCH 1 FLAGS'), ['* 1 FETCH (FLAGS ())', 'e4 OK FETCH completed'], 'EXAMINE never sets \\Seen');
  assert.deepEqual(await client.command('e5', 'EXPUNGE'), ['e5 NO [READ-ONLY] Mailbox is read-only']);
  assert.deepEqual(await client.command('e6', 'UNSELECT'), ['e6 OK UNSELECT completed']);
  assert.deepEqual(await client.command('e7', 'UNSELECT'), ['e7 BAD No mailbox selected']);
  client.close();
});

test('EXPUNGE, UID EXPUNGE (only the given UIDs) and CLOSE (silent)', async () => {
  const s = fx.store.openUser(ALICE);
  s.createMailbox('Trash');
  s.close();
  const uids: number[] = [];
  for (let i = 1; i <= 5; i++) uids.push(await deliver(fx.store, ALICE, rfc822(`expunge ${i}`), 'Trash'));
  const client = await loggedIn();
  await client.command('s', 'SELECT Trash');
  assert.equal((await client.command('d1', 'STORE 1:5 +FLAGS.SILENT (\\Deleted)')).at(-1), 'd1 OK STORE completed');
  assert.deepEqual(await client.command('x1', `UID EXPUNGE ${uids[1]},${uids[3]}`), ['* 4 EXPUNGE', '* 2 EXPUNGE', 'x1 OK EXPUNGE completed']);
  assert.deepEqual(await client.command('x2', 'STORE 1 -FLAGS.SILENT (\\Deleted)'), ['x2 OK STORE completed']);
  assert.deepEqual(await client.command('x3', 'EXPUNGE'), ['* 3 EXPUNGE', '* 2 EXPUNGE', 'x3 OK EXPUNGE completed']);
  assert.deepEqual(await client.command('x4', 'UID SEARCH ALL'), [`* SEARCH ${uids[0]}`, 'x4 OK UID SEARCH completed']);
  await client.command('x5', 'STORE 1 +FLAGS.SILENT (\\Deleted)');
  assert.deepEqual(await client.command('x6', 'CLOSE'), ['x6 OK CLOSE completed']);
  const st = await client.command('x7', 'STATUS Trash (MESSAGES UIDNEXT UNSEEN RECENT)');
  assert.deepEqual(st, [`* STATUS Trash (MESSAGES 0 UIDNEXT ${uids[4]! + 1} UNSEEN 0 RECENT 0)`, 'x7 OK STATUS completed']);
  client.close();
});

test('SEARCH keys over the wire: sets, dates, sizes, OR/NOT, CHARSET', async () => {
  const s = fx.store.openUser(ALICE);
  s.createMailbox('Search');
  s.close();
  await fx.store.deliver({ data: rfc822('Grüße =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=', 'tiny\r\n') }, [{ user: ALICE, folder: 'Search' }], {
    internalDate: new Date(Date.UTC(2020, 1, 3, 23, 0, 0)),
  });
  await fx.store.deliver({ data: rfc822('second', 'x'.repeat(2000)) }, [{ user: ALICE, folder: 'Search' }], {
    internalDate: new Date(Date.UTC(2021, 5, 1)),
    flags: ['\\Answered'],
  });
  const client = await loggedIn();
  await client.command('s', 'SELECT Search');
  const q = async (crit: string): Promise<string> => {
    const r = await client.command('q', `SEARCH ${crit}`);
    assert.equal(r.at(-1), 'q OK SEARCH completed', crit);
    return r[0]!;
  };
  assert.equal(await q('ALL'), '* SEARCH 1 2');
  assert.equal(await q('2:*'), '* SEARCH 2');
  assert.equal(await q('ON 3-Feb-2020'), '* SEARCH 1');
  assert.equal(await q('SINCE 1-Jan-2021'), '* SEARCH 2');
  assert.equal(await q('BEFORE 4-Feb-2020'), '* SEARCH 1');
  assert.equal(await q('SENTON 14-Jan-2025'), '* SEARCH 1 2');
  assert.equal(await q('LARGER 1000'), '* SEARCH 2');
  assert.equal(await q('SMALLER 1000 NOT ANSWERED'), '* SEARCH 1');
  assert.equal(await q('OR ANSWERED 1 UNSEEN'), '* SEARCH 1 2');
  assert.equal(await q('(ANSWERED) (UID 1:*)'), '* SEARCH 2');
  assert.equal(await q('RECENT'), '* SEARCH');
  assert.equal(await q('HEADER X-Missing ""'), '* SEARCH');
  assert.equal(await q('HEADER Subject ""'), '* SEARCH 1 2');
  assert.equal(await q('TEXT "tiny"'), '* SEARCH 1');
  client.write(`q CHARSET UTF-8 SEARCH SUBJECT {${Buffer.byteLength('GRÜSSE')}+}\r\nGRÜSSE\r\n`);
  await client.tagged('q');
  client.write(Buffer.concat([Buffer.from(`q SEARCH CHARSET UTF-8 SUBJECT {${Buffer.byteLength('grüße')}+}\r\n`), Buffer.from('grüße'), Buffer.from('\r\n')]));
  assert.deepEqual(await client.tagged('q'), ['* SEARCH 1', 'q OK SEARCH completed']);
  assert.deepEqual(await client.command('b1', 'SEARCH CHARSET KOI8-R ALL'), ['b1 NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset KOI8-R']);
  assert.deepEqual(await client.command('b2', 'SEARCH FOO'), ['b2 BAD Unknown search key FOO']);
  assert.deepEqual(await client.command('b3', 'SEARCH SINCE yesterday'), ['b3 BAD Invalid date']);
  assert.deepEqual(await client.command('b4', 'SEARCH OR SEEN'), ['b4 BAD Missing search key']);
  client.close();
});

test('LIST, LSUB, CREATE, RENAME, DELETE responses and errors', async () => {
  const client = await loggedIn();
  assert.deepEqual(await client.command('l1', 'LIST "" ""'), ['* LIST (\\Noselect) "/" ""', 'l1 OK LIST completed']);
  assert.deepEqual(await client.command('c1', 'CREATE Work/Reports/'), ['c1 OK CREATE completed']);
  assert.deepEqual(await client.command('c2', 'CREATE inbox'), ['c2 NO [ALREADYEXISTS] INBOX already exists']);
  assert.deepEqual(await client.command('c3', 'CREATE Work'), ['c3 NO [ALREADYEXISTS] Mailbox already exists']);
  assert.deepEqual(await client.command('c4', 'CREATE "bad/../name"'), ['c4 NO [CANNOT] Invalid mailbox name']);
  assert.deepEqual(await client.command('l2', 'LIST "" Work%'), ['* LIST (\\HasChildren) "/" "Work"', 'l2 OK LIST completed']);
  assert.deepEqual(await client.command('l3', 'LIST Work/ *'), ['* LIST (\\HasNoChildren) "/" "Work/Reports"', 'l3 OK LIST completed']);
  assert.deepEqual(await client.command('l4', 'LIST "" inbox'), ['* LIST (\\HasNoChildren) "/" "INBOX"', 'l4 OK LIST completed']);
  assert.deepEqual(await client.command('u1', 'SUBSCRIBE Work/Reports'), ['u1 OK SUBSCRIBE completed']);
  assert.deepEqual(await client.command('u2', 'LSUB "" W*'), ['* LSUB (\\HasNoChildren) "/" "Work/Reports"', 'u2 OK LSUB completed']);
  assert.deepEqual(await client.command('r1', 'RENAME Work Play'), ['r1 OK RENAME completed']);
  assert.deepEqual(await client.command('u3', 'LSUB "" P*'), ['* LSUB (\\HasNoChildren) "/" "Play/Reports"', 'u3 OK LSUB completed']);
  assert.deepEqual(await client.command('r2', 'RENAME Nope Other'), ['r2 NO [NONEXISTENT] Mailbox does not exist']);
  assert.deepEqual(await client.command('r3', 'RENAME Play INBOX'), ['r3 NO [ALREADYEXISTS] Mailbox already exists']);
  assert.deepEqual(await client.command('d1', 'DELETE Play'), ['d1 NO [INUSE] Mailbox has inferior mailboxes']);
  assert.deepEqual(await client.command('d2', 'DELETE INBOX'), ['d2 NO [CANNOT] INBOX cannot be deleted']);
  assert.deepEqual(await client.command('u4', 'UNSUBSCRIBE Play/Reports'), ['u4 OK UNSUBSCRIBE completed']);
  // Deleting the selected mailbox leaves Selected rather than pointing at nothing.
  assert.equal((await client.command('s1', 'SELECT Play/Reports')).at(-1), 's1 OK [READ-WRITE] SELECT completed');
  assert.deepEqual(await client.command('d3', 'DELETE Play/Reports'), ['d3 OK DELETE completed']);
  assert.deepEqual(await client.command('d4', 'FETCH 1 FLAGS'), ['d4 BAD No mailbox selected']);
  assert.deepEqual(await client.command('d5', 'SELECT Play/Reports'), ['d5 NO [NONEXISTENT] Mailbox does not exist']);
  client.close();
});

test('pipelined commands are answered in order; APPEND to the selected mailbox announces EXISTS', async () => {
  const client = await loggedIn();
  await client.command('p0', 'CREATE Pipe');
  const msg = rfc822('piped');
  client.write(
    Buffer.concat([
      Buffer.from(`p1 SELECT Pipe\r\np2 APPEND Pipe {${msg.length}+}\r\n`),
      msg,
      Buffer.from('\r\np3 NOOP\r\np4 UID SEARCH ALL\r\n'),
    ]),
  );
  const r1 = await client.tagged('p1');
  assert.equal(r1.at(-1), 'p1 OK [READ-WRITE] SELECT completed');
  const r2 = await client.tagged('p2');
  assert.deepEqual(r2.slice(0, 1), ['* 1 EXISTS']);
  assert.match(r2.at(-1)!, /^p2 OK \[APPENDUID \d+ 1\] APPEND completed$/);
  assert.deepEqual(await client.tagged('p3'), ['p3 OK NOOP completed']);
  assert.deepEqual(await client.tagged('p4'), ['* SEARCH 1', 'p4 OK UID SEARCH completed']);
  client.close();
});

test('an idle connection is logged out after the idle timeout', async () => {
  const server = await startImapServer(fx.store, { host: '127.0.0.1', port: 0, idleTimeoutMs: 300, login: fx.login });
  try {
    const { client } = await RawImap.open(server.port);
    assert.deepEqual(await client.command('a', 'NOOP'), ['a OK NOOP completed']);
    assert.equal(await client.line(3000), '* BYE Autologout; idle for too long');
    assert.ok(await client.closed());
  } finally {
    await server.close(1000);
  }
});

test('server close says BYE to idle connections and waits for them', async () => {
  const server = await startImapServer(fx.store, { host: '127.0.0.1', port: 0, login: fx.login });
  const { client } = await RawImap.open(server.port);
  assert.equal(server.connections(), 1);
  await server.close(2000);
  assert.equal(await client.line(), '* BYE Server shutting down');
  assert.ok(await client.closed());
});
