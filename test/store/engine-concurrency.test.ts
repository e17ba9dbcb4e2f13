import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StoreConfig } from '@tiermail/core';
import type { DeliveryOutcome, MessageStore } from '@tiermail/store/engine/index';
import { openStore, storeConfig, tempRoot } from './engine-helpers.js';

const workerScript = join(dirname(fileURLToPath(import.meta.url)), 'engine-worker.js');

interface Report {
  tag: string;
  i?: number;
  outcomes?: DeliveryOutcome[];
  done?: boolean;
}

function startWorker(cfg: StoreConfig, count: number, tag: string, users: string[], onReport: (r: Report) => void): { child: ChildProcess; exited: Promise<number | null> } {
  const child = fork(workerScript, [JSON.stringify(cfg), String(count), tag, ...users], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.on('message', (m) => onReport(m as Report));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited };
}

/** Subject line of every message of a user's INBOX, by reading the stored files. */
function subjects(store: MessageStore, user: string): string[] {
  const mbx = store.openUser(user);
  const out = mbx.messages('INBOX').map((m) => /Subject: (.*)\r\n/.exec(readFileSync(mbx.readMessage('INBOX', m.uid).path, 'utf8'))![1]!);
  mbx.close();
  return out;
}

test('four processes delivering to the same users get unique UIDs and lose nothing', async () => {
  const root = tempRoot();
  const cfg = storeConfig(root);
  const users = ['shared@example.test', 'other@example.test'];
  const count = 25;
  const reports: Report[] = [];
  const workers = ['w0', 'w1', 'w2', 'w3'].map((tag) => startWorker(cfg, count, tag, users, (r) => reports.push(r)));
  // Meanwhile a reader (as an IMAP session would) must never see a UID appear below one it
  // has already seen: sequence numbers follow UIDs.
  const watcher = openStore(cfg);
  const watched = watcher.openUser(users[0]!);
  let seenMax = 0;
  const late: number[] = [];
  let polls = 0;
  const poll = setInterval(() => {
    polls++;
    const uids = watched.messages('INBOX').map((m) => m.uid);
    for (const uid of uids) if (uid < seenMax && !known.has(uid)) late.push(uid);
    for (const uid of uids) known.add(uid);
    seenMax = Math.max(seenMax, ...uids, 0);
  }, 2);
  const known = new Set<number>();
  const codes = await Promise.all(workers.map((w) => w.exited));
  clearInterval(poll);
  watched.close();
  watcher.close();
  assert.deepEqual(codes, [0, 0, 0, 0]);
  assert.ok(polls > 10, `the reader polled ${polls} times`);
  assert.deepEqual(late, [], 'UIDs that became visible after a higher one');
  const stored = reports.filter((r) => r.outcomes).flatMap((r) => r.outcomes!);
  assert.equal(stored.length, 4 * count * users.length);
  assert.ok(stored.every((o) => o.status === 'stored'), JSON.stringify(stored.find((o) => o.status !== 'stored')));
  const store = openStore(cfg);
  for (const [k, user] of users.entries()) {
    const uids = reports.filter((r) => r.outcomes).map((r) => (r.outcomes![k] as { uid: number }).uid);
    assert.equal(new Set(uids).size, uids.length, 'no UID handed out twice');
    const mbx = store.openUser(user);
    const listed = mbx.messages('INBOX').map((m) => m.uid);
    assert.deepEqual(listed, [...uids].sort((a, b) => a - b));
    assert.equal(mbx.status('INBOX').uidNext, Math.max(...uids) + 1);
    mbx.close();
    const seen = subjects(store, user).sort();
    const expected = ['w0', 'w1', 'w2', 'w3'].flatMap((t) => Array.from({ length: count }, (_, i) => `${t} ${i}`)).sort();
    assert.deepEqual(seen, expected);
    const report = await store.checkIntegrity(user);
    assert.deepEqual(report.problems, []);
    assert.ok(report.ok);
  }
  store.close();
});

test('kill -9 during concurrent deliveries, then the relay retries: every message exactly once', async () => {
  const root = tempRoot();
  const cfg = storeConfig(root);
  const user = 'crash@example.test';
  const count = 400;
  const acked = new Map<string, Set<number>>();
  const workers = ['k0', 'k1', 'k2', 'k3'].map((tag) => {
    acked.set(tag, new Set());
    return startWorker(cfg, count, tag, [user], (r) => {
      if (r.outcomes?.[0]?.status === 'stored' && r.i !== undefined) acked.get(r.tag)!.add(r.i);
    });
  });
  // Let them get going, then kill every one without warning.
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if ([...acked.values()].every((s) => s.size >= 15)) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  for (const w of workers) w.child.kill('SIGKILL');
  await Promise.all(workers.map((w) => w.exited));

  const store = openStore(cfg);
  assert.ok((await store.checkIntegrity(user)).ok, 'integrity holds right after the crash');
  // The relay retries everything it has no 250 for; here simply everything, with the same ids.
  for (const [tag, got] of acked) {
    for (let i = 0; i < count; i++) {
      const text = `From: w@example.test\r\nSubject: ${tag} ${i}\r\n\r\nbody ${tag} ${i}\r\n`;
      const [o] = await store.deliver({ data: Buffer.from(text) }, [{ user, deliveryId: `${tag}-${i}-${user}` }]);
      if (got.has(i)) assert.equal(o?.status, 'duplicate', `${tag} ${i} was acknowledged before the crash`);
      else assert.ok(o?.status === 'stored' || o?.status === 'duplicate', JSON.stringify(o));
    }
  }
  const seen = subjects(store, user);
  assert.equal(seen.length, new Set(seen).size, 'no message twice');
  assert.equal(seen.length, 4 * count);
  const report = await store.checkIntegrity(user);
  assert.deepEqual(report.problems, []);
  store.close();
});
