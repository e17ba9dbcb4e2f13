// CONDSTORE and QRESYNC (RFC 7162): HIGHESTMODSEQ, FETCH MODSEQ and CHANGEDSINCE, STORE
// UNCHANGEDSINCE with MODIFIED, SEARCH MODSEQ, STATUS HIGHESTMODSEQ, SELECT (QRESYNC ...) with
// VANISHED (EARLIER), VANISHED instead of EXPUNGE; imapflow's changedSince as a client.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { deliver, RawImap, rfc822, startImapFixture, type ImapFixture } from './imap-helpers.js';

let fx: ImapFixture;
const BOB = 'bob@example.test';
before(async () => {
  fx = await startImapFixture();
  for (let i = 1; i <= 4; i++) await deliver(fx.store, BOB, rfc822(`cs ${i}`));
});
after(async () => {
  await fx.stop();
});

async function bob(): Promise<RawImap> {
  const { client } = await RawImap.open(fx.port);
  assert.match((await client.command('l', 'LOGIN bob demo-password')).at(-1)!, /^l OK/);
  return client;
}
const modseqOf = (lines: string[]): number => Number(/HIGHESTMODSEQ (\d+)/.exec(lines.join('\n'))![1]);

test('CONDSTORE: HIGHESTMODSEQ, FETCH CHANGEDSINCE, STORE UNCHANGEDSINCE, SEARCH MODSEQ, STATUS', async () => {
  const a = await bob();
  const sel = await a.command('a', 'SELECT INBOX (CONDSTORE)');
  const base = modseqOf(sel);
  assert.ok(sel.includes(`* OK [HIGHESTMODSEQ ${base}] Highest`));
  assert.deepEqual(await a.command('b', `STATUS INBOX (HIGHESTMODSEQ MESSAGES)`), [`* STATUS INBOX (HIGHESTMODSEQ ${base} MESSAGES 4)`, 'b OK STATUS completed']);

  // Another session changes message 2; this one asks what changed since `base`.
  const other = await bob();
  await other.command('s', 'SELECT INBOX');
  await other.command('t', 'STORE 2 +FLAGS (\\Flagged)');
  const changed = await a.command('c', `FETCH 1:* (FLAGS) (CHANGEDSINCE ${base})`);
  assert.deepEqual(changed, [`* 2 FETCH (FLAGS (\\Flagged) MODSEQ (${base + 1}))`, 'c OK FETCH completed']);
  assert.deepEqual(await a.command('d', `FETCH 2 (MODSEQ)`), [`* 2 FETCH (MODSEQ (${base + 1}))`, 'd OK FETCH completed']);

  // UNCHANGEDSINCE older than message 2's MODSEQ: 2 is not touched and reported MODIFIED.
  assert.deepEqual(await a.command('e', `STORE 1:2 (UNCHANGEDSINCE ${base}) +FLAGS.SILENT (\\Seen)`), [
    `* 1 FETCH (FLAGS (\\Seen) MODSEQ (${base + 2}))`,
    'e OK [MODIFIED 2] Conditional STORE completed',
  ]);
  assert.deepEqual(await a.command('f', `SEARCH MODSEQ ${base + 1}`), [`* SEARCH 1 2 (MODSEQ ${base + 2})`, 'f OK SEARCH completed']);
  assert.deepEqual(await a.command('g', `SEARCH MODSEQ ${base + 10}`), ['* SEARCH', 'g OK SEARCH completed']);
  // Unsolicited flag updates carry MODSEQ once CONDSTORE is on.
  await other.command('u', 'STORE 3 +FLAGS (\\Answered)');
  assert.deepEqual(await a.command('h', 'NOOP'), [`* 3 FETCH (UID 3 FLAGS (\\Answered) MODSEQ (${base + 3}))`, 'h OK NOOP completed']);
  assert.deepEqual(await a.command('i', 'FETCH 1 (FLAGS) (CHANGEDSINCE x)'), ['i BAD CHANGEDSINCE needs a mod-sequence']);
  a.close();
  other.close();
});

test('QRESYNC: SELECT with known state gets VANISHED (EARLIER) and changes; EXPUNGE answers VANISHED', async () => {
  const a = await bob();
  assert.deepEqual(await a.command('a', 'SELECT INBOX (QRESYNC (1 1))'), ['a BAD QRESYNC must be enabled first (ENABLE QRESYNC)']);
  assert.deepEqual(await a.command('b', 'ENABLE QRESYNC'), ['* ENABLED QRESYNC CONDSTORE', 'b OK ENABLE completed']);
  const sel = await a.command('c', 'SELECT INBOX');
  const uv = Number(/UIDVALIDITY (\d+)/.exec(sel.join('\n'))![1]);
  const known = modseqOf(sel);
  // Meanwhile another session changes 1 and expunges 4.
  const other = await bob();
  await other.command('s', 'SELECT INBOX');
  await other.command('t', 'STORE 1 +FLAGS (\\Draft)');
  await other.command('u', 'STORE 4 +FLAGS (\\Deleted)');
  await other.command('v', 'EXPUNGE');
  await a.command('w', 'UNSELECT');
  const resync = await a.command('d', `SELECT INBOX (QRESYNC (${uv} ${known}))`);
  assert.ok(resync.includes('* VANISHED (EARLIER) 4'), resync.join('\n'));
  assert.ok(resync.some((l) => /^\* 1 FETCH \(UID 1 FLAGS \(.*\\Draft.*\) MODSEQ \(\d+\)\)$/.test(l)), resync.join('\n'));
  const vanished = await a.command('e', `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${known} VANISHED)`);
  assert.equal(vanished[0], '* VANISHED (EARLIER) 4');
  // An expunge seen by this QRESYNC session: VANISHED, not EXPUNGE.
  await other.command('x', 'STORE 3 +FLAGS (\\Deleted)');
  await other.command('y', 'EXPUNGE');
  assert.deepEqual(await a.command('f', 'NOOP'), ['* VANISHED 3', 'f OK NOOP completed']);
  // Selecting again while a mailbox is selected says CLOSED first (RFC 7162 3.2.11).
  assert.equal((await a.command('g', 'SELECT INBOX'))[0], '* OK [CLOSED] Previous mailbox closed');
  a.close();
  other.close();
});

test('imapflow: fetch with changedSince returns only what changed', async () => {
  const flow = new ImapFlow({ host: '127.0.0.1', port: fx.port, secure: false, auth: { user: 'bob', pass: 'demo-password' }, logger: false });
  await flow.connect();
  assert.ok(flow.enabled.has('CONDSTORE'), 'imapflow enabled CONDSTORE');
  const box = await flow.mailboxOpen('INBOX');
  const since = box.highestModseq!;
  await flow.messageFlagsAdd('1', ['$Later'], { uid: true });
  const got: Array<{ uid: number; modseq?: bigint }> = [];
  for await (const m of flow.fetch('1:*', { uid: true, flags: true }, { uid: true, changedSince: since })) got.push({ uid: m.uid, modseq: m.modseq });
  assert.deepEqual(got.map((m) => m.uid), [1]);
  assert.ok(got[0]!.modseq! > since);
  await flow.logout();
});
