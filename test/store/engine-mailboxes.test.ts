import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { StoreError } from '@tiermail/store/engine/index';
import { message, openStore, storeConfig, tempRoot } from './engine-helpers.js';

const kind = (k: string) => (err: unknown) => err instanceof StoreError && err.kind === k;

test('create, rename and delete follow RFC 3501', async () => {
  const store = openStore(storeConfig(tempRoot()));
  const user = 'tom@example.test';
  const mbx = store.openUser(user);
  assert.deepEqual(mbx.listMailboxes().map((b) => b.name), ['INBOX'], 'a new user has INBOX');
  const created = mbx.createMailbox('Archive/2024/Q1');
  assert.equal(created.uidNext, 1);
  assert.deepEqual(mbx.listMailboxes().map((b) => b.name), ['Archive', 'Archive/2024', 'Archive/2024/Q1', 'INBOX']);
  const uidValidities = new Set(mbx.listMailboxes().map((b) => b.uidValidity));
  assert.equal(uidValidities.size, 4, 'every mailbox has its own UIDVALIDITY');
  assert.throws(() => mbx.createMailbox('archive/../x'), kind('invalidName'));
  assert.throws(() => mbx.createMailbox('Archive'), kind('exists'));
  assert.throws(() => mbx.createMailbox('inbox'), kind('exists'));
  assert.throws(() => mbx.createMailbox('Trash', { specialUse: '\\Bogus' }), kind('notAllowed'));
  assert.equal(mbx.createMailbox('Trash', { specialUse: '\\Trash' }).specialUse, '\\Trash');

  await store.deliver({ data: message('x') }, [{ user, folder: 'Archive/2024/Q1' }]);
  const q1Validity = mbx.status('Archive/2024/Q1').uidValidity;
  mbx.subscribe('Archive/2024/Q1');
  mbx.renameMailbox('Archive/2024', 'Old/2024');
  assert.deepEqual(mbx.listMailboxes().map((b) => b.name), ['Archive', 'INBOX', 'Old', 'Old/2024', 'Old/2024/Q1', 'Trash']);
  assert.equal(mbx.status('Old/2024/Q1').messages, 1, 'messages follow a rename');
  assert.equal(mbx.status('Old/2024/Q1').uidValidity, q1Validity);
  assert.ok(mbx.subscriptions().includes('Old/2024/Q1'));
  assert.throws(() => mbx.renameMailbox('Old', 'Old/below'), kind('notAllowed'));
  assert.throws(() => mbx.renameMailbox('Nope', 'X'), kind('notFound'));

  // Renaming INBOX moves its messages and leaves an empty INBOX.
  await store.deliver({ data: message('y') }, [{ user }]);
  mbx.renameMailbox('INBOX', 'Saved');
  assert.equal(mbx.status('Saved').messages, 1);
  assert.equal(mbx.status('INBOX').messages, 0);

  assert.throws(() => mbx.deleteMailbox('INBOX'), kind('notAllowed'));
  assert.throws(() => mbx.deleteMailbox('Old/2024'), kind('hasChildren'));
  const path = mbx.readMessage('Old/2024/Q1', 1).path;
  mbx.deleteMailbox('Old/2024/Q1');
  assert.equal(existsSync(dirname(path)), false, 'its directory is gone');
  assert.throws(() => mbx.status('Old/2024/Q1'), kind('notFound'));
  assert.equal(mbx.quota().usedMessages, 1, 'quota use follows the delete');
  mbx.close();
  assert.ok((await store.checkIntegrity(user)).ok);
  store.close();
});

test('flags, MODSEQ and CONDSTORE UNCHANGEDSINCE', async () => {
  const store = openStore(storeConfig(tempRoot()));
  const user = 'uma@example.test';
  for (let i = 0; i < 3; i++) await store.deliver({ data: message(`m${i}`) }, [{ user }]);
  const mbx = store.openUser(user);
  const start = mbx.status('INBOX').highestModseq;
  const r1 = mbx.setFlags('INBOX', [1, 2, 99], 'add', ['\\SEEN', '$Label1']);
  assert.deepEqual(r1.updated.map((m) => [m.uid, m.flags]), [
    [1, ['$Label1', '\\Seen']],
    [2, ['$Label1', '\\Seen']],
  ]);
  assert.ok(r1.updated.every((m) => m.modseq > start));
  assert.equal(mbx.setFlags('INBOX', [1], 'add', ['\\Seen']).updated.length, 0, 'no change, no new MODSEQ');
  const mid = mbx.status('INBOX').highestModseq;
  const r2 = mbx.setFlags('INBOX', [1, 3], 'replace', ['\\Flagged'], { unchangedSince: start });
  assert.deepEqual(r2.modified, [1]);
  assert.deepEqual(r2.updated.map((m) => m.uid), [3]);
  assert.deepEqual(mbx.messages('INBOX', { changedSinceModseq: mid }).map((m) => m.uid), [3]);
  assert.equal(mbx.status('INBOX').unseen, 1);
  assert.throws(() => mbx.setFlags('INBOX', [1], 'add', ['\\Recent']), kind('notAllowed'));
  assert.throws(() => mbx.setFlags('INBOX', [1], 'add', ['bad keyword']), kind('notAllowed'));
  mbx.setFlags('INBOX', [2, 3], 'add', ['\\Deleted']);
  assert.deepEqual(await mbx.expunge('INBOX', [3]), [3], 'UID EXPUNGE only touches the given UIDs');
  assert.deepEqual(mbx.messages('INBOX').map((m) => m.uid), [1, 2]);
  assert.ok(mbx.status('INBOX').highestModseq > mid);
  mbx.close();
  store.close();
});

test('ACL entries are validated and survive renames', () => {
  const store = openStore(storeConfig(tempRoot()));
  const mbx = store.openUser('vic@example.test');
  mbx.createMailbox('Team');
  mbx.setAcl('Team', 'wes@example.test', 'srl');
  assert.deepEqual(mbx.getAcl('Team'), [{ identifier: 'wes@example.test', rights: 'lrs' }]);
  assert.throws(() => mbx.setAcl('Team', 'x@example.test', 'lz'), kind('notAllowed'));
  mbx.renameMailbox('Team', 'Crew');
  assert.deepEqual(mbx.getAcl('Crew'), [{ identifier: 'wes@example.test', rights: 'lrs' }]);
  mbx.deleteAcl('Crew', 'wes@example.test');
  assert.deepEqual(mbx.getAcl('Crew'), []);
  mbx.close();
  assert.throws(() => store.openUser('nobody@example.test', { create: false }), kind('notFound'));
  assert.equal(store.hasUser('vic@example.test'), true);
  assert.equal(store.hasUser('nobody@example.test'), false);
  store.close();
});
