// The IMAP server with real clients over real sockets: imapflow and Python's imaplib log in as
// the demo user alice against a real slapd, with mail delivered through the engine.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { runPython } from '../harness/python.js';
import { deliver, rfc822, startImapFixture, type ImapFixture } from './imap-helpers.js';

let fx: ImapFixture;
const ALICE = 'alice@example.test';

before(async () => {
  fx = await startImapFixture();
});
after(async () => {
  await fx?.stop();
});

/** imapflow answers false for "nothing"; the tests expect something. */
function must<T>(v: T | false | undefined): T {
  assert.ok(v, 'expected a result');
  return v;
}

function client(user = 'alice', pass = 'demo-password'): ImapFlow {
  return new ImapFlow({ host: '127.0.0.1', port: fx.port, secure: false, auth: { user, pass }, logger: false, disableAutoIdle: true });
}

test('imapflow: login, LIST with special use, SELECT, FETCH, STORE, SEARCH, EXPUNGE', async () => {
  const s = fx.store.openUser(ALICE);
  s.createMailbox('Sent', { specialUse: '\\Sent' });
  s.close();
  const uid1 = await deliver(fx.store, ALICE, rfc822('first message', 'Body one: apples.\r\n'));
  const uid2 = await deliver(fx.store, ALICE, rfc822('second message', 'Body two: pears.\r\n', 'Cc: dave@example.org\r\n'));
  const c = client();
  await c.connect();
  try {
    assert.ok(c.capabilities.has('IMAP4rev1'));
    assert.ok(c.capabilities.has('UIDPLUS'));
    const list = await c.list();
    const byPath = new Map(list.map((m) => [m.path, m]));
    assert.ok(byPath.has('INBOX'));
    assert.equal(byPath.get('Sent')?.specialUse, '\\Sent');
    assert.equal(byPath.get('INBOX')?.delimiter, '/');

    const mb = await c.mailboxOpen('INBOX');
    assert.equal(mb.exists, 2);
    assert.equal(Number(mb.uidNext), uid2 + 1);
    assert.ok(Number(mb.uidValidity) > 0);

    const msgs = [];
    for await (const m of c.fetch('1:*', { uid: true, flags: true, internalDate: true, size: true, headers: ['subject'] })) msgs.push(m);
    assert.deepEqual(msgs.map((m) => m.uid), [uid1, uid2]);
    assert.match(msgs[0]!.headers!.toString(), /^Subject: first message\r\n\r\n$/);
    assert.equal(msgs[1]!.size, rfc822('second message', 'Body two: pears.\r\n', 'Cc: dave@example.org\r\n').length);
    assert.ok(msgs[0]!.internalDate instanceof Date);
    assert.equal(msgs[0]!.flags?.size, 0);

    // BODY.PEEK[] leaves \Seen alone; BODY[] sets it.
    const peek = must(await c.fetchOne(String(uid1), { source: true }, { uid: true }));
    assert.ok(peek && peek.source!.toString().includes('Body one: apples.'));
    assert.equal((must(await c.fetchOne(String(uid1), { flags: true }, { uid: true })))!.flags!.has('\\Seen'), false);
    const parts = must(await c.fetchOne(String(uid1), { bodyParts: ['TEXT'] }, { uid: true }));
    assert.equal(parts!.bodyParts!.get('text')!.toString(), 'Body one: apples.\r\n');

    // Partial fetch.
    const dl = must(await c.fetchOne(String(uid2), { source: { start: 0, maxLength: 5 } }, { uid: true }));
    assert.equal(dl!.source!.toString(), 'From:');

    assert.ok(await c.messageFlagsAdd(String(uid1), ['\\Seen', '\\Flagged', '$Work'], { uid: true }));
    const f = must(await c.fetchOne(String(uid1), { flags: true }, { uid: true }));
    assert.deepEqual([...f!.flags!].sort(), ['$Work', '\\Flagged', '\\Seen']);
    await c.messageFlagsRemove(String(uid1), ['\\Flagged'], { uid: true });

    assert.deepEqual(await c.search({ seen: true }, { uid: true }), [uid1]);
    assert.deepEqual(await c.search({ seen: false }, { uid: true }), [uid2]);
    assert.deepEqual(await c.search({ subject: 'SECOND' }, { uid: true }), [uid2]);
    assert.deepEqual(await c.search({ body: 'apples' }, { uid: true }), [uid1]);
    assert.deepEqual(await c.search({ from: 'carol@' }, { uid: true }), [uid1, uid2]);
    assert.deepEqual(await c.search({ header: { cc: 'dave' } }, { uid: true }), [uid2]);
    assert.deepEqual(await c.search({ keyword: '$Work' }, { uid: true }), [uid1]);
    assert.deepEqual(await c.search({ or: [{ subject: 'first' }, { body: 'pears' }] }, { uid: true }), [uid1, uid2]);
    assert.deepEqual(await c.search({ not: { subject: 'first' } } as never, { uid: true }), [uid2]);
    assert.deepEqual(await c.search({ larger: 10_000 }, { uid: true }), []);
    assert.deepEqual(await c.search({ since: new Date(Date.now() - 86_400_000) }, { uid: true }), [uid1, uid2]);
    assert.deepEqual(await c.search({ before: new Date(Date.UTC(2000, 0, 1)) }, { uid: true }), []);
    assert.deepEqual(await c.search({ sentBefore: new Date(Date.UTC(2025, 0, 15)) }, { uid: true }), [uid1, uid2]);
    assert.deepEqual(await c.search({ all: true }), [1, 2]);

    assert.ok(await c.messageDelete(String(uid1), { uid: true }));
    const status = must(await c.status('INBOX', { messages: true, unseen: true, uidNext: true }));
    assert.equal(status.messages, 1);
    assert.equal(status.unseen, 1);
    const left = [];
    for await (const m of c.fetch('1:*', { uid: true })) left.push(m.uid);
    assert.deepEqual(left, [uid2]);
  } finally {
    await c.logout();
  }
});

test('imapflow: CREATE, APPEND with flags and date (APPENDUID), RENAME, DELETE, SUBSCRIBE', async () => {
  const c = client();
  await c.connect();
  try {
    const created = await c.mailboxCreate(['Projects', 'Alpha']);
    assert.equal(created.path, 'Projects/Alpha');
    const date = new Date(Date.UTC(2024, 4, 6, 7, 8, 9));
    const appended = await c.append('Projects/Alpha', rfc822('appended'), ['\\Seen', '$Label1'], date);
    assert.ok(appended && typeof appended === 'object');
    assert.equal(appended.destination, 'Projects/Alpha');
    assert.equal(appended.uid, 1);
    assert.ok(Number(appended.uidValidity) > 0);

    await c.mailboxOpen('Projects/Alpha');
    const m = must(await c.fetchOne('1', { uid: true, flags: true, internalDate: true, source: true }));
    assert.deepEqual([...m!.flags!].sort(), ['$Label1', '\\Seen']);
    assert.equal((m!.internalDate as Date).toISOString(), date.toISOString());
    assert.ok(m!.source!.equals(rfc822('appended')));

    // APPEND to a missing mailbox is refused with TRYCREATE.
    await assert.rejects(c.append('Nowhere', rfc822('lost')), (err: { serverResponseCode?: string }) => err.serverResponseCode === 'TRYCREATE');

    const renamed = await c.mailboxRename('Projects', 'Archive2024');
    assert.equal(renamed.newPath, 'Archive2024');
    const paths = (await c.list()).map((x) => x.path).sort();
    assert.deepEqual(
      paths.filter((p) => p.startsWith('Archive2024')),
      ['Archive2024', 'Archive2024/Alpha'],
    );
    assert.ok(!paths.some((p) => p.startsWith('Projects')));
    const st = must(await c.status('Archive2024/Alpha', { messages: true, unseen: true }));
    assert.equal(st.messages, 1);
    assert.equal(st.unseen, 0);

    await c.mailboxSubscribe('Archive2024/Alpha');
    const subscribed = (await c.listTree()).folders!.map((x) => x.path);
    assert.ok(subscribed.includes('Archive2024'));
    await c.mailboxUnsubscribe('Archive2024/Alpha');

    // A mailbox with inferiors cannot be deleted (no \Noselect placeholders); its leaf can.
    await assert.rejects(c.mailboxDelete('Archive2024'));
    await c.mailboxDelete('Archive2024/Alpha');
    await c.mailboxDelete('Archive2024');
    assert.ok(!(await c.list()).some((x) => x.path.startsWith('Archive2024')));
  } finally {
    await c.logout();
  }
});

test('imapflow: a wrong password is refused, bob sees only his own mail', async () => {
  const bad = client('alice', 'wrong-password');
  await assert.rejects(bad.connect(), (err: { authenticationFailed?: boolean }) => err.authenticationFailed === true);
  await deliver(fx.store, 'bob@example.test', rfc822('for bob'));
  const c = client('bob');
  await c.connect();
  try {
    const mb = await c.mailboxOpen('INBOX');
    assert.equal(mb.exists, 1);
    const m = must(await c.fetchOne('1', { headers: ['subject'] }));
    assert.match(m!.headers!.toString(), /for bob/);
  } finally {
    await c.logout();
  }
});

test('imapflow: new mail and other sessions\' changes reach a selected session at NOOP', async () => {
  const a = client();
  const b = client();
  await a.connect();
  await b.connect();
  try {
    await a.mailboxCreate('Shared');
    await a.mailboxOpen('Shared');
    await b.mailboxOpen('Shared');
    const exists: number[] = [];
    const expunged: number[] = [];
    const flags: string[][] = [];
    a.on('exists', (e: { count: number }) => exists.push(e.count));
    a.on('expunge', (e: { seq: number }) => expunged.push(e.seq));
    a.on('flags', (e: { flags: Set<string> }) => flags.push([...e.flags]));
    const u1 = await deliver(fx.store, ALICE, rfc822('shared one'), 'Shared');
    await deliver(fx.store, ALICE, rfc822('shared two'), 'Shared');
    await a.noop();
    assert.deepEqual(exists, [2]);
    await b.noop();
    await b.messageFlagsAdd(String(u1), ['\\Deleted'], { uid: true });
    await a.noop();
    assert.deepEqual(flags, [['\\Deleted']]);
    await b.messageDelete(String(u1), { uid: true });
    await a.noop();
    assert.deepEqual(expunged, [1]);
    assert.equal(a.mailbox && typeof a.mailbox === 'object' ? a.mailbox.exists : -1, 1);
  } finally {
    await a.logout();
    await b.logout();
  }
});

const PYTHON = `
import imaplib, json, sys
port = int(sys.argv[1])
out = {}
m = imaplib.IMAP4('127.0.0.1', port)
out['caps'] = sorted(m.capabilities)
out['login'] = m.login('alice', 'demo-password')[0]
typ, data = m.create('Py')
out['create'] = typ
typ, data = m.append('Py', '(\\\\Flagged)', imaplib.Time2Internaldate(1700000000), b'Subject: from python\\r\\n\\r\\nhi\\r\\n')
out['append'] = [typ, data[0].decode()]
typ, data = m.select('Py')
out['select'] = [typ, data[0].decode()]
typ, data = m.search(None, 'FLAGGED', 'SUBJECT', '"from python"')
out['search'] = data[0].decode()
typ, data = m.fetch('1', '(FLAGS RFC822.SIZE BODY[HEADER.FIELDS (SUBJECT)])')
out['fetch'] = [data[0][0].decode(), data[0][1].decode()]
typ, data = m.uid('STORE', '1', '+FLAGS.SILENT', '(\\\\Deleted)')
out['store'] = [typ, data]
typ, data = m.expunge()
out['expunge'] = [typ, [d.decode() for d in data if d]]
out['close'] = m.close()[0]
out['list'] = [d.decode() for d in m.list()[1]]
out['logout'] = m.logout()[0]
print(json.dumps(out))
`;

test('Python imaplib: LOGIN, CREATE, APPEND (synchronizing literal), SELECT, SEARCH, FETCH, UID STORE, EXPUNGE', async () => {
  const r = await runPython(PYTHON, String(fx.port));
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.ok((out.caps as string[]).includes('IMAP4REV1'));
  assert.equal(out.login, 'OK');
  assert.equal(out.create, 'OK');
  assert.match((out.append as string[])[1]!, /^\[APPENDUID \d+ 1\] APPEND completed/);
  assert.deepEqual(out.select, ['OK', '1']);
  assert.equal(out.search, '1');
  const [head, fields] = out.fetch as [string, string];
  assert.match(head, /^1 \(FLAGS \(\\Flagged \\Seen\) RFC822\.SIZE 28 BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{24\}$/);
  assert.equal(fields, 'Subject: from python\r\n\r\n');
  assert.deepEqual(out.store, ['OK', [null]]);
  assert.deepEqual(out.expunge, ['OK', ['1']]);
  assert.equal(out.close, 'OK');
  assert.ok((out.list as string[]).some((l) => l.endsWith('"/" "Py"')));
  assert.equal(out.logout, 'BYE');
});

const PYTHON_EXT = `
import imaplib, json, sys
port = int(sys.argv[1])
out = {}
m = imaplib.IMAP4('127.0.0.1', port)
m.login('bob', 'demo-password')
out['namespace'] = [d.decode() for d in m.namespace()[1]]
m.create('PyShared')
out['setacl'] = m.setacl('PyShared', 'alice', 'lr')[0]
out['getacl'] = [d.decode() for d in m.getacl('PyShared')[1]]
out['myrights'] = [d.decode() for d in m.myrights('PyShared')[1]]
out['quotaroot'] = [[d.decode() for d in part] for part in m.getquotaroot('INBOX')[1]]
m.append('INBOX', None, None, b'Subject: to move\\r\\n\\r\\nx\\r\\n')
out['inbox_before'] = m.select('INBOX')[1][0].decode()
typ, data = m.uid('MOVE', '1:*', 'PyShared')
out['move'] = [typ, [d.decode() for d in data if d]]
out['inbox_after'] = m.select('INBOX')[1][0].decode()
m.logout()
a = imaplib.IMAP4('127.0.0.1', port)
a.login('alice', 'demo-password')
typ, data = a.select('"Other Users/bob@example.test/PyShared"', readonly=True)
out['shared_select'] = [typ, data[0].decode()]
typ, data = a.search(None, 'SUBJECT', '"to move"')
typ, data = a.fetch(data[0].decode().split()[-1], '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
out['shared_fetch'] = data[0][1].decode()
a.logout()
print(json.dumps(out))
`;

test('Python imaplib: NAMESPACE, SETACL/GETACL/MYRIGHTS, GETQUOTAROOT, UID MOVE, a shared mailbox', async () => {
  const r = await runPython(PYTHON_EXT, String(fx.port));
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.deepEqual(out.namespace, ['(("" "/")) (("Other Users/" "/")) NIL']);
  assert.equal(out.setacl, 'OK');
  assert.deepEqual(out.getacl, ['PyShared bob@example.test lrswipkxtea alice@example.test lr']);
  assert.deepEqual(out.myrights, ['PyShared lrswipkxtea']);
  // bob has no quota limits known: the root exists with no resources.
  assert.deepEqual(out.quotaroot, [['INBOX ""'], ['"" ()']]);
  const [typ, lines] = out.move as [string, string[]];
  assert.equal(typ, 'OK', lines.join(' | '));
  assert.equal(out.inbox_after, '0', 'the message left INBOX');
  assert.deepEqual(out.shared_select, ['OK', out.inbox_before]);
  assert.equal(out.shared_fetch, 'Subject: to move\r\n\r\n');
});

const PYTHON_SORT = `
import imaplib, json, sys
port = int(sys.argv[1])
out = {}
m = imaplib.IMAP4('127.0.0.1', port)
m.login('alice', 'demo-password')
m.enable('CONDSTORE')
out['enable'] = [d.decode() for d in m.untagged_responses.pop('ENABLED', [])]
m.create('PySort')
for subj, date in [('b', '"02-Jan-2024 10:00:00 +0000"'), ('Re: a', '"03-Jan-2024 10:00:00 +0000"'), ('a', '"01-Jan-2024 10:00:00 +0000"')]:
    m.append('PySort', None, date, ('Subject: %s\\r\\nDate: Mon, 1 Jan 2024 00:00:00 +0000\\r\\n\\r\\nx\\r\\n' % subj).encode())
m.select('PySort')
out['sort'] = m.sort('(SUBJECT)', 'UTF-8', 'ALL')[1][0].decode()
out['sort_arrival'] = m.sort('(REVERSE ARRIVAL)', 'UTF-8', 'ALL')[1][0].decode()
out['thread'] = m.thread('ORDEREDSUBJECT', 'UTF-8', 'ALL')[1][0].decode()
out['status'] = m.status('PySort', '(MESSAGES SIZE HIGHESTMODSEQ)')[1][0].decode()
m.logout()
print(json.dumps(out))
`;

test('Python imaplib: ENABLE, SORT, THREAD, STATUS with SIZE and HIGHESTMODSEQ', async () => {
  const r = await runPython(PYTHON_SORT, String(fx.port));
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, string | string[]>;
  assert.deepEqual(out.enable, ['CONDSTORE']);
  // Base subjects b (1), a (2, "Re: a"), a (3): equal keys keep mailbox order (RFC 5256).
  assert.equal(out.sort, '2 3 1');
  // ARRIVAL is the INTERNALDATE given to APPEND: 3 (1 Jan) < 1 (2 Jan) < 2 (3 Jan); reversed.
  assert.equal(out.sort_arrival, '2 1 3');
  // Same Date header on all three: threads and children in mailbox order.
  assert.equal(out.thread, '(1)(2 3)');
  assert.match(out.status as string, /^PySort \(MESSAGES 3 SIZE \d+ HIGHESTMODSEQ \d+\)$/);
});

test('imapflow: LIST with LIST-STATUS, and QRESYNC on open', async () => {
  const c = new ImapFlow({ host: '127.0.0.1', port: fx.port, secure: false, auth: { user: 'alice', pass: 'demo-password' }, logger: false, qresync: true });
  await c.connect();
  try {
    assert.ok(c.enabled.has('QRESYNC'), 'imapflow enabled QRESYNC');
    const list = await c.list({ statusQuery: { messages: true, uidNext: true } });
    const inbox = list.find((m) => m.path === 'INBOX');
    assert.ok(inbox?.status && typeof inbox.status.messages === 'number' && typeof inbox.status.uidNext === 'number', JSON.stringify(inbox?.status));
    const box = await c.mailboxOpen('INBOX');
    assert.equal(typeof box.highestModseq, 'bigint');
  } finally {
    await c.logout();
  }
});

test('imapflow: IDLE wakes on a delivery (exists event)', async () => {
  const c = new ImapFlow({ host: '127.0.0.1', port: fx.port, secure: false, auth: { user: 'alice', pass: 'demo-password' }, logger: false });
  await c.connect();
  try {
    const lock = await c.getMailboxLock('INBOX');
    try {
      const before = (c.mailbox && c.mailbox.exists) || 0;
      const woke = new Promise<number>((resolve) => c.on('exists', (d: { count: number }) => resolve(d.count)));
      const idling = c.idle();
      await new Promise((r) => setTimeout(r, 200));
      await deliver(fx.store, ALICE, rfc822('wake up'));
      assert.equal(await woke, before + 1);
      await c.noop(); // ends IDLE
      await idling.catch(() => undefined);
    } finally {
      lock.release();
    }
  } finally {
    await c.logout();
  }
});
