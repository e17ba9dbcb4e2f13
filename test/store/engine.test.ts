import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Clock, message, openStore, storeConfig, tempRoot } from './engine-helpers.js';

test('one delivery to three users on a partition is one inode with four links', async () => {
  const root = tempRoot();
  const store = openStore(storeConfig(root));
  const spool = store.tempPathFor('alice@example.test');
  assert.ok(spool.startsWith(join(root, 'primary', 'tmp')));
  writeFileSync(spool, message('hello'));
  const users = ['alice@example.test', 'bob@example.test', 'carol@Example.TEST'];
  const outcomes = await store.deliver({ path: spool }, users.map((user) => ({ user })));
  assert.equal(existsSync(spool), false, 'the spool file was moved into the store');
  const inodes = new Set<number>();
  for (const [i, o] of outcomes.entries()) {
    assert.equal(o.status, 'stored');
    if (o.status !== 'stored') continue;
    assert.equal(o.folder, 'INBOX');
    assert.equal(o.uid, 1);
    const mbx = store.openUser(users[i]!);
    const file = mbx.readMessage('INBOX', o.uid);
    const s = statSync(file.path);
    inodes.add(s.ino);
    assert.equal(s.nlink, 4, 'three recipients plus the partition objects/ link');
    assert.equal(file.size, message('hello').length);
    assert.equal(readFileSync(file.path, 'utf8'), message('hello').toString());
    mbx.close();
  }
  assert.equal(inodes.size, 1);
  assert.equal(store.userPartition('carol@example.test'), 'primary', 'domain is case-folded');
  store.close();
});

test('UIDs increase and are never reused after expunge, also across reopen', async () => {
  const root = tempRoot();
  const cfg = storeConfig(root);
  let store = openStore(cfg);
  const user = 'dave@example.test';
  const uids: number[] = [];
  for (let i = 0; i < 3; i++) {
    const [o] = await store.deliver({ data: message(`m${i}`) }, [{ user }]);
    assert.equal(o?.status, 'stored');
    if (o?.status === 'stored') uids.push(o.uid);
  }
  assert.deepEqual(uids, [1, 2, 3]);
  let mbx = store.openUser(user);
  const before = mbx.status('INBOX');
  const flagged = mbx.setFlags('INBOX', [3], 'add', ['\\deleted']);
  assert.deepEqual(flagged.updated.map((m) => m.flags), [['\\Deleted']]);
  assert.ok(flagged.updated[0]!.modseq > before.highestModseq);
  assert.deepEqual(await mbx.expunge('INBOX'), [3]);
  mbx.close();
  const [o4] = await store.deliver({ data: message('m4') }, [{ user }]);
  assert.equal(o4?.status === 'stored' && o4.uid, 4);
  store.close();
  store = openStore(cfg);
  const [o5] = await store.deliver({ data: message('m5') }, [{ user }]);
  assert.equal(o5?.status === 'stored' && o5.uid, 5);
  mbx = store.openUser(user);
  assert.deepEqual(mbx.messages('INBOX').map((m) => m.uid), [1, 2, 4, 5]);
  const st = mbx.status('INBOX');
  assert.equal(st.uidNext, 6);
  assert.equal(st.uidValidity, before.uidValidity, 'UIDVALIDITY never changes for a live mailbox');
  assert.equal(st.messages, 4);
  assert.equal(st.unseen, 4);
  assert.deepEqual(mbx.quota().usedMessages, 4);
  mbx.close();
  store.close();
});

test('a delivery id is stored once within the window, also after close and reopen', async () => {
  const root = tempRoot();
  const clock = new Clock();
  const cfg = storeConfig(root, { dedupWindowHours: 24 });
  let store = openStore(cfg, { now: clock.now });
  const r = { user: 'erin@example.test', deliveryId: 'Q123:erin@example.test' };
  const [first] = await store.deliver({ data: message('once') }, [r]);
  assert.equal(first?.status, 'stored');
  const [again] = await store.deliver({ data: message('once') }, [r]);
  assert.deepEqual(again, { status: 'duplicate', uidValidity: first?.status === 'stored' ? first.uidValidity : 0, uid: 1, folder: 'INBOX' });
  store.close();
  store = openStore(cfg, { now: clock.now });
  const spool = store.tempPathFor(r.user);
  writeFileSync(spool, message('once'));
  const [afterRestart] = await store.deliver({ path: spool }, [r]);
  assert.equal(afterRestart?.status, 'duplicate');
  assert.equal(existsSync(spool), false, 'a duplicate consumes the spool file too');
  clock.advanceHours(25);
  const [afterWindow] = await store.deliver({ data: message('once') }, [r]);
  assert.equal(afterWindow?.status, 'stored', 'outside the window the id is forgotten');
  const mbx = store.openUser(r.user);
  assert.equal(mbx.status('INBOX').messages, 2);
  mbx.close();
  // Nothing left behind in objects/ by the duplicates: one body per stored message.
  const gc = await store.gc({ minAgeMs: 0 });
  assert.equal(gc[0]?.objectsRemoved, 0);
  store.close();
});

test('quota: refusal, grace period, too large, cached limits, warning once per period', async () => {
  const root = tempRoot();
  const clock = new Clock();
  const store = openStore(storeConfig(root, { quota: { warnPercent: 90, warnIntervalHours: 24, graceHours: 120 } }), { now: clock.now });
  const user = 'frank@example.test';
  const body = message('q', 400); // ~450 bytes
  const size = body.length;
  const limit = size * 2 + 10;
  const first = await store.deliver({ data: body }, [{ user, quotaBytes: limit }]);
  assert.equal(first[0]?.status, 'stored');
  assert.equal(first[0]?.status === 'stored' && first[0].quotaWarning, undefined);
  const second = await store.deliver({ data: body }, [{ user, quotaBytes: limit }]);
  assert.equal(second[0]?.status === 'stored' && second[0].quotaWarning, true, 'usage passed 90%: warning due');
  // The limit is remembered: a delivery without one (-1) is still checked.
  assert.deepEqual(await store.deliver({ data: body }, [{ user, quotaBytes: -1 }]), [{ status: 'over-quota', permanent: false }]);
  clock.advanceHours(119);
  assert.deepEqual(await store.deliver({ data: body }, [{ user }]), [{ status: 'over-quota', permanent: false }]);
  clock.advanceHours(2);
  assert.deepEqual(await store.deliver({ data: body }, [{ user }]), [{ status: 'over-quota', permanent: true }]);
  assert.deepEqual(await store.deliver({ data: message('big', limit + 1) }, [{ user }]), [{ status: 'too-large' }]);
  // The quota warning itself may be stored over quota.
  const warning = await store.deliver({ data: body }, [{ user }], { bypassQuota: true });
  assert.equal(warning[0]?.status, 'stored');
  const mbx = store.openUser(user);
  const q = mbx.quota();
  assert.equal(q.usedMessages, 3);
  assert.equal(q.limitBytes, limit);
  assert.ok(q.overQuotaSince !== null);
  // Freeing space ends the over-quota period.
  mbx.setFlags('INBOX', [1, 2, 3], 'add', ['\\Deleted']);
  assert.deepEqual(await mbx.expunge('INBOX'), [1, 2, 3]);
  assert.equal(mbx.quota().overQuotaSince, null);
  mbx.close();
  const third = await store.deliver({ data: body }, [{ user }]);
  assert.equal(third[0]?.status === 'stored' && third[0].quotaWarning, undefined, 'below the threshold again');
  const fourth = await store.deliver({ data: body }, [{ user }]);
  assert.equal(fourth[0]?.status === 'stored' && fourth[0].quotaWarning, true, 'a new period: warned again');
  // A raised limit (from the directory) lets the next one in; still above 90%, but warned today.
  const fifth = await store.deliver({ data: body }, [{ user, quotaBytes: size * 3 + 10 }]);
  assert.equal(fifth[0]?.status, 'stored');
  assert.equal(fifth[0]?.status === 'stored' && fifth[0].quotaWarning, undefined, 'no second warning within the period');
  clock.advanceHours(25);
  // Message-count limits, and a mixed transaction: one recipient refused, the other stored.
  const mixed = await store.deliver({ data: message('m') }, [
    { user, quotaMessages: 1 },
    { user: 'gina@example.test', quotaBytes: 0 },
  ]);
  assert.deepEqual(mixed.map((o) => o.status), ['over-quota', 'stored']);
  store.close();
});

test('a partition above its high-water mark answers partition-full and stores nothing', async () => {
  const root = tempRoot();
  const store = openStore(storeConfig(root, { partitions: { primary: { path: join(root, 'primary'), highWaterPercent: 1 } } }));
  const spool = store.tempPathFor();
  writeFileSync(spool, message('full'));
  const outcomes = await store.deliver({ path: spool }, [{ user: 'hal@example.test' }, { user: 'ivy@example.test' }]);
  assert.deepEqual(outcomes, [{ status: 'partition-full' }, { status: 'partition-full' }]);
  assert.equal(existsSync(spool), false);
  const [st] = await store.stat();
  assert.equal(st?.messages, 0);
  store.close();
});

test('user+folder delivers to the folder only when it exists', async () => {
  const root = tempRoot();
  const store = openStore(storeConfig(root));
  const user = 'jack@example.test';
  const [a] = await store.deliver({ data: message('a') }, [{ user, folder: 'Lists' }]);
  assert.equal(a?.status === 'stored' && a.folder, 'INBOX');
  const mbx = store.openUser(user);
  mbx.createMailbox('Lists/tiermail');
  const [b, c, d] = await store.deliver({ data: message('b') }, [
    { user, folder: 'Lists/tiermail' },
    { user, folder: '../../etc' },
    { user, folder: 'inbox' },
  ]);
  assert.equal(b?.status === 'stored' && b.folder, 'Lists/tiermail');
  assert.equal(b?.status === 'stored' && b.uid, 1);
  assert.equal(c?.status === 'stored' && c.folder, 'INBOX');
  assert.equal(d?.status === 'stored' && d.folder, 'INBOX');
  // Two recipients of one delivery land in INBOX together: their UIDs may leave a gap (the one
  // that commits second takes a fresh UID, see deliver.ts T2), but stay unique and ordered.
  const uids = mbx.messages('INBOX').map((m) => m.uid);
  assert.equal(uids.length, 3);
  assert.equal(uids[0], 1);
  assert.deepEqual([...uids].sort((x, y) => x - y), uids);
  assert.deepEqual(uids.filter((u) => u !== 1).sort(), [c, d].map((o) => (o?.status === 'stored' ? o.uid : 0)).sort());
  mbx.close();
  store.close();
});

test('bad user names are refused and never leave the users directory', async () => {
  const root = tempRoot();
  const store = openStore(storeConfig(root));
  const outcomes = await store.deliver({ data: message('x') }, [
    { user: '../../etc/passwd@example.test' },
    { user: 'no-domain' },
    { user: '..@example.test' },
    { user: 'Upper.Case@example.test' },
  ]);
  assert.deepEqual(outcomes.map((o) => o.status), ['io-error', 'io-error', 'stored', 'stored']);
  for (const user of ['..@example.test', 'Upper.Case@example.test']) {
    const mbx = store.openUser(user);
    const path = mbx.readMessage('INBOX', 1).path;
    assert.ok(path.startsWith(join(root, 'primary', 'users') + '/'), path);
    assert.ok(!path.includes('/../'), path);
    mbx.close();
  }
  store.close();
});

test('recipients on two partitions: one body per partition', async () => {
  const root = tempRoot();
  const registryPath = join(root, 'registry.sqlite');
  const partitions = { primary: { path: join(root, 'primary') }, second: { path: join(root, 'second') } };
  // New users go to the default partition: place one user on each.
  const onSecond = openStore(storeConfig(root, { partitions, defaultPartition: 'second' }), { registryPath });
  await onSecond.deliver({ data: message('hi') }, [{ user: 'kim@example.test' }]);
  onSecond.close();
  const store = openStore(storeConfig(root, { partitions }), { registryPath });
  const spool = store.tempPathFor();
  writeFileSync(spool, message('two'));
  const outcomes = await store.deliver({ path: spool }, [{ user: 'kim@example.test' }, { user: 'lou@example.test' }, { user: 'max@example.test' }]);
  assert.deepEqual(outcomes.map((o) => o.status), ['stored', 'stored', 'stored']);
  const links = (user: string): { ino: number; nlink: number } => {
    const mbx = store.openUser(user);
    const uid = mbx.messages('INBOX').at(-1)!.uid;
    const s = statSync(mbx.readMessage('INBOX', uid).path);
    mbx.close();
    return { ino: s.ino, nlink: s.nlink };
  };
  assert.equal(links('kim@example.test').nlink, 2);
  assert.equal(links('lou@example.test').nlink, 3);
  assert.equal(links('lou@example.test').ino, links('max@example.test').ino);
  const stat = await store.stat();
  assert.deepEqual(
    stat.map((s) => [s.partition, s.users, s.messages]),
    [
      ['primary', 2, 2],
      ['second', 1, 2],
    ],
  );
  store.close();
});
