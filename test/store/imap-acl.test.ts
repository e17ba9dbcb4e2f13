// ACLs (RFC 4314) and shared mailboxes in the "Other Users" namespace (RFC 2342): bob shares a
// folder with alice, who lists, reads, copies from it and, once allowed, appends to it; her
// IDLE session hears bob's changes; taking the right away hides the folder again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { RawImap, startImapFixture, type ImapFixture } from './imap-helpers.js';

let fx: ImapFixture;
before(async () => {
  fx = await startImapFixture();
});
after(async () => {
  await fx.stop();
});

async function login(user: string): Promise<RawImap> {
  const { client } = await RawImap.open(fx.port);
  assert.match((await client.command('l', `LOGIN ${user} demo-password`)).at(-1)!, /^l OK/);
  return client;
}
const lit = (s: string): string => `{${Buffer.byteLength(s)}+}\r\n${s}`;
const SHARED = '"Other Users/bob@example.test/Projects"';

test('bob shares Projects with alice: ACL commands, LIST, SELECT read-only, COPY out, APPEND with i, IDLE, DELETEACL', async () => {
  const bob = await login('bob');
  await bob.command('a', 'CREATE Projects');
  for (const s of ['plan', 'budget']) {
    bob.write(`b APPEND Projects ${lit(`Subject: ${s}\r\n\r\n${s}\r\n`)}\r\n`);
    assert.match((await bob.tagged('b')).at(-1)!, /^b OK \[APPENDUID/);
  }
  assert.deepEqual(await bob.command('c', 'SETACL Projects alice lr'), ['c OK SETACL completed']);
  assert.deepEqual(await bob.command('d', 'GETACL Projects'), ['* ACL Projects bob@example.test lrswipkxtea alice@example.test lr', 'd OK GETACL completed']);
  assert.deepEqual(await bob.command('e', 'MYRIGHTS Projects'), ['* MYRIGHTS Projects lrswipkxtea', 'e OK MYRIGHTS completed']);
  assert.deepEqual(await bob.command('f', 'LISTRIGHTS Projects alice'), ['* LISTRIGHTS Projects alice@example.test "" l r s w i p k x t e a', 'f OK LISTRIGHTS completed']);
  assert.deepEqual(await bob.command('g', 'SETACL Projects alice lz'), ['g BAD Unknown right z']);
  assert.deepEqual(await bob.command('h', 'SETACL Projects -alice r'), ['h NO [CANNOT] Negative rights are not supported']);

  const alice = await login('alice');
  assert.deepEqual(await alice.command('a', 'NAMESPACE'), ['* NAMESPACE (("" "/")) (("Other Users/" "/")) NIL', 'a OK NAMESPACE completed']);
  const list = await alice.command('b', 'LIST "" "Other Users*"');
  assert.deepEqual(list, [
    '* LIST (\\Noselect \\HasChildren) "/" "Other Users"',
    '* LIST (\\Noselect \\HasChildren) "/" "Other Users/bob@example.test"',
    `* LIST (\\HasNoChildren) "/" ${SHARED}`,
    'b OK LIST completed',
  ]);
  assert.deepEqual(await alice.command('c', `STATUS ${SHARED} (MESSAGES)`), [`* STATUS ${SHARED} (MESSAGES 2)`, 'c OK STATUS completed']);
  const sel = await alice.command('d', `SELECT ${SHARED}`);
  assert.ok(sel.includes('* 2 EXISTS'));
  assert.equal(sel.at(-1), 'd OK [READ-ONLY] SELECT completed');
  assert.deepEqual(await alice.command('e', 'FETCH 1:2 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])'), [
    '* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {17}\r\nSubject: plan\r\n\r\n)',
    '* 2 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {19}\r\nSubject: budget\r\n\r\n)',
    'e OK FETCH completed',
  ]);
  assert.deepEqual(await alice.command('f', 'STORE 1 +FLAGS (\\Seen)'), ['f NO [READ-ONLY] Mailbox is read-only']);
  assert.deepEqual(await alice.command('g', `MYRIGHTS ${SHARED}`), [`* MYRIGHTS ${SHARED} lr`, 'g OK MYRIGHTS completed']);
  assert.deepEqual(await alice.command('h', `GETACL ${SHARED}`), ['h NO [NOPERM] Permission denied (right a missing)']);
  assert.deepEqual(await alice.command('i', `SETACL ${SHARED} alice lrswi`), ['i NO [NOPERM] Permission denied (right a missing)']);
  assert.match((await alice.command('j', 'COPY 1 INBOX')).at(-1)!, /^j OK \[COPYUID \d+ 1 \d+\] COPY completed$/);
  alice.write(`k APPEND ${SHARED} ${lit('Subject: from alice\r\n\r\nhi\r\n')}\r\n`);
  assert.deepEqual(await alice.tagged('k'), ['k NO [NOPERM] Permission denied (right i missing)']);

  assert.deepEqual(await bob.command('i', 'SETACL Projects alice +i'), ['i OK SETACL completed']);
  alice.write(`l APPEND ${SHARED} ${lit('Subject: from alice\r\n\r\nhi\r\n')}\r\n`);
  assert.match((await alice.tagged('l')).at(-1)!, /^l OK \[APPENDUID \d+ 3\] APPEND completed$/);

  // Alice idles in the shared folder; bob's new message wakes her.
  alice.write('m IDLE\r\n');
  assert.equal(await alice.line(), '+ idling');
  bob.write(`j APPEND Projects ${lit('Subject: late\r\n\r\nlate\r\n')}\r\n`);
  await bob.tagged('j');
  for (let line = await alice.line(); line !== '* 4 EXISTS'; line = await alice.line()) assert.notEqual(line, '<closed>');
  alice.write('DONE\r\n');
  await alice.tagged('m');

  assert.deepEqual(await bob.command('k', 'DELETEACL Projects alice'), ['k OK DELETEACL completed']);
  assert.deepEqual(await alice.command('n', 'LIST "" "Other Users*"'), ['n OK LIST completed']);
  assert.deepEqual(await alice.command('o', `EXAMINE ${SHARED}`), ['o NO [NONEXISTENT] Mailbox does not exist']);
  bob.close();
  alice.close();
});

test('imapflow sees a mailbox shared with anyone in its listing', async () => {
  const bob = await login('bob');
  await bob.command('a', 'CREATE Public');
  assert.deepEqual(await bob.command('b', 'SETACL Public anyone lr'), ['b OK SETACL completed']);
  bob.close();
  const flow = new ImapFlow({ host: '127.0.0.1', port: fx.port, secure: false, auth: { user: 'alice', pass: 'demo-password' }, logger: false });
  await flow.connect();
  const names = (await flow.list()).map((m) => m.path);
  assert.ok(names.includes('Other Users/bob@example.test/Public'), names.join(', '));
  const st = await flow.status('Other Users/bob@example.test/Public', { messages: true });
  assert.equal(st && st.messages, 0);
  await flow.logout();
});
