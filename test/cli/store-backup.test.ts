// `tiermail store backup` and `restore` through the real CLI against a running store: a full
// backup, an incremental one that copies only new bodies, a deleted mailbox restored with its
// flags and dates, a restore into a folder, a repeated restore that stores nothing twice, and
// a whole user restored into a second, empty store.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageStore } from '@tiermail/store';
import { runCli } from '../harness/cli.js';
import { LmtpClient, message } from '../harness/lmtp-client.js';
import { startStore, type StoreHandle } from '../harness/store.js';

let store: StoreHandle;
let other: StoreHandle;
const target = mkdtempSync(join(tmpdir(), 'tm-backup-'));
const ALICE = 'alice@example.test';

before(async () => {
  // One after the other: free ports are picked per store, and two at once could pick the same.
  store = await startStore({ workers: 1 });
  other = await startStore({ workers: 1 });
  const { client } = await LmtpClient.open(store.port);
  await client.command('LHLO relay1');
  for (let i = 0; i < 5; i++) await client.transaction('s@example.org', ['<alice@example.test>'], message(`inbox ${i}`));
  await client.close();
  const s = MessageStore.open(store.config.store);
  try {
    const m = s.openUser(ALICE);
    m.createMailbox('Projects');
    m.subscribe('Projects');
    m.setFlags('INBOX', [1, 2], 'add', ['\\Seen', '$Important']);
    m.close();
    await s.deliver({ data: Buffer.from('Subject: plan\r\n\r\nplan\r\n') }, [{ user: ALICE, folder: 'Projects' }], {
      flags: ['\\Flagged'],
      internalDate: new Date('2020-02-02T10:00:00Z'),
    });
  } finally {
    s.close();
  }
});
after(async () => {
  await Promise.all([store?.cleanup(), other?.cleanup()]);
});

const cli = (h: StoreHandle, ...args: string[]) => runCli(['-c', h.configFile, '--host', 'store1', '--json', ...args]);

function state(h: StoreHandle, folder: string): Array<{ flags: string; date: number; size: number }> {
  const s = MessageStore.open(h.config.store);
  try {
    const m = s.openUser(ALICE);
    const out = m.messages(folder).map((x) => ({ flags: x.flags.join(' '), date: x.internalDate.getTime(), size: x.size }));
    m.close();
    return out;
  } finally {
    s.close();
  }
}

interface BackupOut {
  backupId: string;
  users: Array<{ user: string; messages: number; copied: number }>;
}

test('full, then incremental backup; restore a deleted mailbox, into a folder, again, and into another store', async () => {
  const full = await cli(store, 'store', 'backup', '--to', target);
  assert.equal(full.code, 0, full.stderr);
  const f = JSON.parse(full.stdout) as BackupOut;
  assert.deepEqual(f.users.map((u) => [u.user, u.messages, u.copied]), [[ALICE, 6, 6]]);

  const { client } = await LmtpClient.open(store.port);
  await client.command('LHLO relay1');
  await client.transaction('s@example.org', ['<alice@example.test>'], message('after full'));
  await client.close();
  // Distinct ids even within one second: the incremental must not overwrite the full one.
  await new Promise((r) => setTimeout(r, 1100));
  const incr = await cli(store, 'store', 'backup', '--to', target, '--incremental', ALICE);
  const i = JSON.parse(incr.stdout) as BackupOut;
  assert.deepEqual(i.users.map((u) => [u.messages, u.copied]), [[7, 1]], 'only the new body is copied');
  assert.deepEqual(readdirSync(target).sort(), [f.backupId, i.backupId, 'state'].sort());

  const projectsBefore = state(store, 'Projects');
  const inboxBefore = state(store, 'INBOX');
  assert.equal((await cli(store, 'store', 'mailbox', 'delete', ALICE, 'Projects')).code, 0);
  const r1 = await cli(store, 'store', 'restore', '--from', join(target, i.backupId), '--mailbox', 'Projects');
  assert.equal(r1.code, 0, r1.stderr);
  assert.deepEqual(state(store, 'Projects'), projectsBefore, 'flags, date and size as they were');

  const r2 = await cli(store, 'store', 'restore', '--from', join(target, i.backupId), '--into', 'Restored');
  assert.equal(r2.code, 0, r2.stderr);
  assert.deepEqual(state(store, 'Restored/INBOX'), inboxBefore);
  const again = JSON.parse((await cli(store, 'store', 'restore', '--from', join(target, i.backupId), '--into', 'Restored')).stdout) as {
    users: Array<{ restored: number; alreadyThere: number }>;
  };
  assert.deepEqual(again.users.map((u) => [u.restored, u.alreadyThere]), [[0, 7]], 'a repeated restore stores nothing twice');

  const r3 = await cli(other, 'store', 'restore', '--from', join(target, i.backupId));
  assert.equal(r3.code, 0, r3.stderr);
  assert.deepEqual(state(other, 'INBOX'), inboxBefore);
  assert.deepEqual(state(other, 'Projects'), projectsBefore);
  const s = MessageStore.open(other.config.store);
  try {
    const m = s.openUser(ALICE);
    assert.ok(m.subscriptions().includes('Projects'));
    m.close();
  } finally {
    s.close();
  }
});

test('restore names what is missing', async () => {
  const r = await cli(store, 'store', 'restore', '--from', join(target, 'nope'), '--user', 'nobody@example.test');
  assert.equal(r.code, 1);
  assert.match(r.stdout, /no complete backup of nobody@example\.test here/);
});
