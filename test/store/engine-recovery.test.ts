import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, linkSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { MessageStore } from '@tiermail/store/engine/index';
import { Clock, message, openStore, storeConfig, tempRoot } from './engine-helpers.js';

function dbFiles(store: MessageStore, user: string): string {
  const mbx = store.openUser(user);
  const path = mbx.readMessage('INBOX', mbx.messages('INBOX')[0]!.uid).path;
  mbx.close();
  // <user dir>/mail/<mailbox dir>/<file>
  return join(dirname(dirname(dirname(path))), 'meta.sqlite');
}

function snapshot(store: MessageStore, user: string): Record<string, { uidValidity: number; uids: number[]; flags: string[][]; dates: number[] }> {
  const mbx = store.openUser(user);
  const out: Record<string, { uidValidity: number; uids: number[]; flags: string[][]; dates: number[] }> = {};
  for (const box of mbx.listMailboxes()) {
    const msgs = mbx.messages(box.name);
    out[box.name] = { uidValidity: box.uidValidity, uids: msgs.map((m) => m.uid), flags: msgs.map((m) => m.flags), dates: msgs.map((m) => m.internalDate.getTime()) };
  }
  mbx.close();
  return out;
}

test('reconstruct of a user whose database was deleted gives back every message', async () => {
  const root = tempRoot();
  const clock = new Clock();
  const cfg = storeConfig(root);
  let store = openStore(cfg, { now: clock.now });
  const user = 'nora@example.test';
  for (let i = 0; i < 3; i++) await store.deliver({ data: message(`in ${i}`) }, [{ user, deliveryId: `Q${i}` }]);
  let mbx = store.openUser(user);
  mbx.createMailbox('Work/Projects');
  mbx.close();
  for (let i = 0; i < 2; i++) await store.deliver({ data: message(`wp ${i}`) }, [{ user, folder: 'Work/Projects', deliveryId: `W${i}` }]);
  const date = new Date('2024-02-03T04:05:06Z');
  await store.deliver({ data: message('flagged') }, [{ user }], { internalDate: date, flags: ['\\Seen', '\\Flagged'] });
  mbx = store.openUser(user);
  mbx.setFlags('INBOX', [2], 'add', ['\\Deleted']);
  await mbx.expunge('INBOX');
  mbx.renameMailbox('Work', 'Jobs');
  mbx.close();
  const before = snapshot(store, user);
  assert.deepEqual(Object.keys(before).sort(), ['INBOX', 'Jobs', 'Jobs/Projects']);
  assert.deepEqual(before.INBOX!.uids, [1, 3, 4]);
  const dbPath = dbFiles(store, user);
  store.close();
  for (const ext of ['', '-wal', '-shm']) rmSync(dbPath + ext, { force: true });

  clock.advanceHours(1);
  store = openStore(cfg, { now: clock.now });
  const report = await store.reconstruct(user);
  assert.equal(report.mode, 'rebuild');
  assert.equal(report.messages, 5);
  assert.equal(report.mailboxes, 3);
  const after = snapshot(store, user);
  assert.deepEqual(Object.keys(after).sort(), Object.keys(before).sort());
  for (const name of Object.keys(before)) {
    assert.deepEqual(after[name]!.uids, before[name]!.uids, `${name}: same UIDs in the same order`);
    assert.deepEqual(after[name]!.dates, before[name]!.dates);
    assert.ok(after[name]!.uidValidity > before[name]!.uidValidity, `${name}: UIDVALIDITY raised (flag changes were lost)`);
  }
  assert.deepEqual(after.INBOX!.flags.at(-1), ['\\Flagged', '\\Seen'], 'flags at delivery come back');
  assert.equal(after.INBOX!.dates.at(-1), date.getTime());
  // Delivery ids come back from the file names: a relay retry is still a duplicate.
  assert.equal((await store.deliver({ data: message('in 0') }, [{ user, deliveryId: 'Q0' }]))[0]?.status, 'duplicate');
  assert.equal((await store.deliver({ data: message('wp 1') }, [{ user, deliveryId: 'W1' }]))[0]?.status, 'duplicate');
  const [next] = await store.deliver({ data: message('new') }, [{ user }]);
  assert.equal(next?.status === 'stored' && next.uid, 5);
  mbx = store.openUser(user);
  assert.deepEqual(mbx.subscriptions().sort(), ['INBOX', 'Jobs', 'Jobs/Projects']);
  assert.equal(mbx.quota().usedMessages, 6);
  mbx.close();
  const integrity = await store.checkIntegrity(user);
  assert.deepEqual(integrity, { user, ok: true, problems: [], warnings: [] });
  store.close();
});

test('a deleted database is rebuilt on first use, without an explicit reconstruct', async () => {
  const root = tempRoot();
  const cfg = storeConfig(root);
  let store = openStore(cfg);
  const user = 'olga@example.test';
  await store.deliver({ data: message('one') }, [{ user }]);
  await store.deliver({ data: message('two') }, [{ user }]);
  const dbPath = dbFiles(store, user);
  store.close();
  for (const ext of ['', '-wal', '-shm']) rmSync(dbPath + ext, { force: true });
  store = openStore(cfg);
  const [o] = await store.deliver({ data: message('three') }, [{ user }]);
  assert.equal(o?.status === 'stored' && o.uid, 3);
  const mbx = store.openUser(user);
  assert.deepEqual(mbx.messages('INBOX').map((m) => m.uid), [1, 2, 3]);
  mbx.close();
  assert.ok((await store.checkIntegrity(user)).ok);
  store.close();
});

test('repair: an orphan link is stepped over, reported, then removed; a missing file drops its row', async () => {
  const root = tempRoot();
  const store = openStore(storeConfig(root));
  const user = 'pia@example.test';
  await store.deliver({ data: message('a') }, [{ user }]);
  await store.deliver({ data: message('b') }, [{ user }]);
  let mbx = store.openUser(user);
  const first = mbx.readMessage('INBOX', 1).path;
  const boxDir = dirname(first);
  // A link without a row, at or above UIDNEXT: what a database restored from an older backup
  // shows (a crash cannot do it: UIDs are reserved durably before any link).
  linkSync(first, join(boxDir, `3.${Date.now()}.-.-`));
  let integrity = await store.checkIntegrity(user);
  assert.equal(integrity.ok, true);
  assert.equal(integrity.warnings.length, 1);
  assert.match(integrity.warnings[0]!, /orphan file 3\..*UIDNEXT/);
  const report = await store.reconstruct(user, { orphanGraceMs: 0 });
  assert.deepEqual({ mode: report.mode, orphans: report.orphans, missingFiles: report.missingFiles, messages: report.messages }, { mode: 'repair', orphans: 1, missingFiles: 0, messages: 2 });
  assert.equal(readdirSync(boxDir).filter((f) => f.startsWith('3.')).length, 0);
  assert.equal(mbx.status('INBOX').uidNext, 4, 'the orphan\'s UID is never handed out, even once removed');
  integrity = await store.checkIntegrity(user);
  assert.deepEqual(integrity.warnings, []);
  // A name already taken at link time: step past it.
  const date = new Date('2024-05-06T07:08:09Z');
  linkSync(first, join(boxDir, `4.${date.getTime()}.-.-`));
  const [o] = await store.deliver({ data: message('c') }, [{ user }], { internalDate: date });
  assert.equal(o?.status === 'stored' && o.uid, 5);
  await store.reconstruct(user, { orphanGraceMs: 0 });
  // A message file lost from under the database.
  unlinkSync(mbx.readMessage('INBOX', 2).path);
  integrity = await store.checkIntegrity(user);
  assert.equal(integrity.ok, false);
  assert.match(integrity.problems.join('\n'), /UID 2 file .* missing/);
  const repaired = await store.reconstruct(user);
  assert.equal(repaired.missingFiles, 1);
  assert.deepEqual(mbx.messages('INBOX').map((m) => m.uid), [1, 5]);
  assert.equal(mbx.quota().usedMessages, 2);
  assert.ok((await store.checkIntegrity(user)).ok);
  mbx.close();
  const [n] = await store.deliver({ data: message('d') }, [{ user }]);
  assert.equal(n?.status === 'stored' && n.uid, 6);
  mbx = store.openUser(user);
  mbx.close();
  store.close();
});

test('a corrupt database is set aside and rebuilt; a forced rebuild keeps subscriptions and ACLs', async () => {
  const root = tempRoot();
  const cfg = storeConfig(root);
  let store = openStore(cfg);
  const user = 'quinn@example.test';
  await store.deliver({ data: message('a') }, [{ user }]);
  let mbx = store.openUser(user);
  mbx.createMailbox('Shared');
  mbx.setAcl('Shared', 'rita@example.test', 'lrs');
  mbx.subscribe('Shared');
  mbx.unsubscribe('INBOX');
  mbx.close();
  await store.deliver({ data: message('b') }, [{ user, folder: 'Shared' }]);
  const forced = await store.reconstruct(user, { rebuild: true });
  assert.equal(forced.mode, 'rebuild');
  mbx = store.openUser(user);
  assert.deepEqual(mbx.getAcl('Shared'), [{ identifier: 'rita@example.test', rights: 'lrs' }]);
  assert.deepEqual(mbx.subscriptions(), ['Shared']);
  assert.deepEqual(mbx.messages('Shared').map((m) => m.uid), [1]);
  mbx.close();
  const dbPath = dbFiles(store, user);
  store.close();
  writeFileSync(dbPath, Buffer.alloc(8192, 0x41));
  rmSync(dbPath + '-wal', { force: true });
  rmSync(dbPath + '-shm', { force: true });
  store = openStore(cfg);
  const integrity = await store.checkIntegrity(user);
  assert.equal(integrity.ok, false);
  const report = await store.reconstruct(user);
  assert.equal(report.mode, 'rebuild');
  assert.equal(report.messages, 2);
  assert.ok(readdirSync(dirname(dbPath)).some((f) => f.startsWith('meta.sqlite.corrupt-')));
  assert.ok((await store.checkIntegrity(user)).ok);
  store.close();
});

test('gc removes bodies nobody links to any more', async () => {
  const root = tempRoot();
  const store = openStore(storeConfig(root));
  const user = 'sam@example.test';
  await store.deliver({ data: message('a') }, [{ user }]);
  const mbx = store.openUser(user);
  mbx.setFlags('INBOX', [1], 'replace', ['\\Deleted']);
  await mbx.expunge('INBOX', [1]);
  mbx.close();
  assert.deepEqual((await store.gc()).map((r) => r.objectsRemoved), [0], 'young bodies are kept');
  assert.deepEqual((await store.gc({ minAgeMs: -1 })).map((r) => r.objectsRemoved), [1]);
  const objects = join(root, 'primary', 'objects');
  assert.deepEqual(readdirSync(objects).flatMap((s) => readdirSync(join(objects, s))), []);
  assert.equal(existsSync(join(root, 'primary', 'registry.sqlite')), true);
  store.close();
});
