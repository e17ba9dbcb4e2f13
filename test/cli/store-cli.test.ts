// `tiermail store ...` on a store that received mail over LMTP: mailbox admin, quota, stat,
// and reconstruct of a user whose database was deleted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startStore, type StoreHandle } from '../harness/store.js';
import { LmtpClient, message } from '../harness/lmtp-client.js';
import { runCli } from '../harness/cli.js';

let store: StoreHandle;
const cli = (...args: string[]) => runCli(['-c', store.configFile, '--host', 'store1', ...args]);

before(async () => {
  store = await startStore({ workers: 1 });
  const { client } = await LmtpClient.open(store.port);
  await client.command('LHLO relay1');
  for (let i = 0; i < 12; i += 1) {
    const r = await client.transaction('s@example.org', ['<alice@example.test> XQUOTA=1000000,1000', '<bob@example.test>'], message(`m${i}`));
    for (const d of r.data) assert.match(d, /^250 /);
  }
  await client.close();
});
after(async () => {
  await store?.stop();
  await store?.cleanup();
});

function findFiles(dir: string, name: string): string[] {
  let out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out = out.concat(findFiles(p, name));
    else if (e === name) out.push(p);
  }
  return out;
}

test('mailbox create, list, rename, delete', async () => {
  assert.equal((await cli('store', 'mailbox', 'create', 'alice', 'Projects/2026')).code, 0);
  const list = JSON.parse((await cli('--json', 'store', 'mailbox', 'list', 'alice@example.test')).stdout) as Array<{ name: string; messages: number }>;
  assert.deepEqual(list.map((m) => m.name).sort(), ['INBOX', 'Projects', 'Projects/2026']);
  assert.equal(list.find((m) => m.name === 'INBOX')?.messages, 12);
  assert.equal((await cli('store', 'mailbox', 'rename', 'alice', 'Projects/2026', 'Projects/Done')).code, 0);
  const del = await cli('store', 'mailbox', 'delete', 'alice', 'Projects/Done');
  assert.equal(del.code, 0, del.stderr);
  const bad = await cli('store', 'mailbox', 'create', 'alice', '../../etc');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /tiermail: /);
  const nobody = await cli('store', 'mailbox', 'list', 'nobody');
  assert.equal(nobody.code, 1);
  assert.match(nobody.stderr, /no mailboxes for nobody@example\.test/);
});

test('quota show, report and check, and store stat', async () => {
  const q = JSON.parse((await cli('--json', 'store', 'quota', 'show', 'alice')).stdout) as { usedMessages: number; limitBytes: number; limitMessages: number };
  assert.equal(q.usedMessages, 12);
  assert.equal(q.limitBytes, 1000000);
  assert.equal(q.limitMessages, 1000);
  // alice: 12 of 1000 messages (1.2%); bob has no limits and is never listed.
  const near = JSON.parse((await cli('--json', 'store', 'quota', 'report', '--over', '1')).stdout) as Array<{ user: string; percent: number }>;
  assert.deepEqual(near.map((r) => r.user), ['alice@example.test']);
  assert.ok(near[0]!.percent >= 1.2 && near[0]!.percent < 2, String(near[0]!.percent));
  assert.deepEqual(JSON.parse((await cli('--json', 'store', 'quota', 'report')).stdout), [], 'nobody at 90%');
  assert.equal((await cli('store', 'quota', 'report', '--over', 'lots')).code, 2);
  const check = await cli('store', 'quota', 'check');
  assert.equal(check.code, 0, check.stdout);
  assert.match(check.stdout, /2 users checked, 0 with problems/);
  const stat = JSON.parse((await cli('--json', 'store', 'stat')).stdout) as Array<{ partition: string; users: number; messages: number }>;
  assert.equal(stat[0]?.partition, 'primary');
  assert.equal(stat[0]?.users, 2);
  assert.equal(stat[0]?.messages, 24);
  const gc = JSON.parse((await cli('--json', 'store', 'gc')).stdout) as Array<{ partition: string; objectsRemoved: number }>;
  assert.equal(gc[0]?.partition, 'primary');
  assert.equal(gc[0]?.objectsRemoved, 0, 'every body is still linked by a mailbox');
});

test('reconstruct of a user whose database was deleted gives back every message', async () => {
  await store.stop();
  const partition = store.config.store.partitions.primary?.path ?? '';
  const dbs = findFiles(join(partition, 'users'), 'meta.sqlite').filter((p) => p.includes('bob'));
  assert.equal(dbs.length, 1);
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbs[0]}${suffix}`, { force: true });
  const r = await cli('--json', 'store', 'reconstruct', 'bob');
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { mode: string; messages: number };
  assert.equal(report.mode, 'rebuild');
  assert.equal(report.messages, 12);
  const list = JSON.parse((await cli('--json', 'store', 'mailbox', 'list', 'bob')).stdout) as Array<{ name: string; messages: number }>;
  assert.equal(list.find((m) => m.name === 'INBOX')?.messages, 12);
  assert.equal((await cli('store', 'quota', 'check', 'bob')).code, 0);
  await store.start();
});
