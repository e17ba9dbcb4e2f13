// COPY / MOVE with COPYUID, and IDLE woken by deliveries and by other sessions, in this
// process and, through Redis, from another store process. Real slapd, redis-server, sockets.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { createRedis, redisSchema, waitReady, type RedisClient } from '@tiermail/core';
import { MessageStore } from '@tiermail/store';
import { StoreChanges } from '@tiermail/store/changes';
import { startRedis, type RedisHandle } from '../harness/redis.js';
import { deliver, RawImap, rfc822, startImapFixture, type ImapFixture } from './imap-helpers.js';

let fx: ImapFixture;
const ALICE = 'alice@example.test';

before(async () => {
  fx = await startImapFixture({ idlePollMs: 60_000 });
});
after(async () => {
  await fx.stop();
});

async function loggedIn(user = 'alice'): Promise<RawImap> {
  const { client } = await RawImap.open(fx.port);
  const r = await client.command('l', `LOGIN ${user} demo-password`);
  assert.match(r.at(-1)!, /^l OK/);
  return client;
}

/** Reads lines until one matches, without sending anything (IDLE pushes). */
async function waitFor(client: RawImap, re: RegExp, timeoutMs = 5000): Promise<string[]> {
  const seen: string[] = [];
  for (;;) {
    const line = await client.line(timeoutMs);
    seen.push(line);
    if (re.test(line)) return seen;
    if (line === '<closed>') throw new Error(`closed; saw ${seen.join(' | ')}`);
  }
}

test('COPY keeps flags and dates, answers COPYUID; a missing target is TRYCREATE', async () => {
  for (let i = 1; i <= 3; i++) await deliver(fx.store, ALICE, rfc822(`copy ${i}`));
  const c = await loggedIn();
  await c.command('a', 'CREATE Archive');
  await c.command('b', 'SELECT INBOX');
  await c.command('c', 'STORE 2 +FLAGS (\\Flagged $Work)');
  const status = await c.command('d', 'STATUS Archive (UIDVALIDITY)');
  const uv = /UIDVALIDITY (\d+)/.exec(status[0]!)![1];
  assert.deepEqual(await c.command('e', 'COPY 2:3 Archive'), [`e OK [COPYUID ${uv} 2:3 1:2] COPY completed`]);
  assert.deepEqual(await c.command('f', 'COPY 1 Nowhere'), ['f NO [TRYCREATE] Mailbox does not exist']);
  await c.command('g', 'SELECT Archive');
  const fetched = await c.command('h', 'FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)');
  assert.equal(fetched.length, 3);
  assert.match(fetched[0]!, /^\* 1 FETCH \(UID 1 FLAGS \(\$Work \\Flagged\) INTERNALDATE "[^"]+" RFC822.SIZE \d+\)$/);
  const src = fx.store.openUser(ALICE);
  const inbox = src.messages('INBOX');
  const archive = src.messages('Archive');
  assert.deepEqual(
    archive.map((m) => [m.size, m.internalDate.getTime()]),
    inbox.slice(1).map((m) => [m.size, m.internalDate.getTime()]),
  );
  // Single instance: the copy is another link to the same body.
  const { statSync } = await import('node:fs');
  assert.equal(statSync(src.readMessage('Archive', 1).path).ino, statSync(src.readMessage('INBOX', inbox[1]!.uid).path).ino);
  src.close();
  c.close();
});

test('MOVE: COPYUID first, then EXPUNGE of the moved messages, then OK; imapflow messageMove works', async () => {
  const c = await loggedIn();
  await c.command('a', 'CREATE Moved');
  const sel = await c.command('b', 'SELECT INBOX');
  const exists = Number(/\* (\d+) EXISTS/.exec(sel.join('\n'))![1]);
  assert.ok(exists >= 3);
  const r = await c.command('c', `MOVE 1:2 Moved`);
  assert.match(r[0]!, /^\* OK \[COPYUID \d+ \d+:\d+ 1:2\] Moved$/);
  assert.deepEqual(r.slice(1), ['* 2 EXPUNGE', '* 1 EXPUNGE', 'c OK MOVE completed']);
  assert.deepEqual(await c.command('d', 'STATUS Moved (MESSAGES)'), ['* STATUS Moved (MESSAGES 2)', 'd OK STATUS completed']);
  c.close();

  const flow = new ImapFlow({ host: '127.0.0.1', port: fx.port, secure: false, auth: { user: 'alice', pass: 'demo-password' }, logger: false });
  await flow.connect();
  const lock = await flow.getMailboxLock('Moved');
  try {
    const res = await flow.messageMove('1', 'INBOX', { uid: true });
    assert.ok(res && res.uidMap instanceof Map && res.uidMap.size === 1, 'MOVE answered a uidMap of one message');
    const st = await flow.status('Moved', { messages: true });
    assert.equal(st && st.messages, 1);
  } finally {
    lock.release();
    await flow.logout();
  }
});

test('a COPY that runs over quota copies nothing: NO [OVERQUOTA]', async () => {
  const user = 'bob@example.test';
  const msg = rfc822('big one', 'x'.repeat(3000) + '\r\n');
  // The quota comes with deliveries (the relay passes the directory's value).
  const [o] = await fx.store.deliver({ data: msg }, [{ user, quotaBytes: msg.length * 2 + 100 }]);
  assert.equal(o?.status, 'stored');
  await fx.store.deliver({ data: rfc822('small') }, [{ user }]);
  const c = await loggedIn('bob');
  await c.command('a', 'CREATE Full');
  await c.command('b', 'SELECT INBOX');
  assert.deepEqual(await c.command('c', 'COPY 1:2 Full'), ['c NO [OVERQUOTA] Quota exceeded']);
  assert.deepEqual(await c.command('d', 'STATUS Full (MESSAGES)'), ['* STATUS Full (MESSAGES 0)', 'd OK STATUS completed']);
  c.close();
});

test('IDLE: a delivery, another session\'s flag change and expunge arrive without a command', async () => {
  const idler = await loggedIn();
  const other = await loggedIn();
  await idler.command('a', 'SELECT INBOX');
  await other.command('a', 'SELECT INBOX');
  idler.write('i IDLE\r\n');
  assert.equal(await idler.line(), '+ idling');
  await deliver(fx.store, ALICE, rfc822('during idle'));
  const got = await waitFor(idler, /^\* \d+ EXISTS$/);
  const n = Number(/^\* (\d+) EXISTS$/.exec(got.at(-1)!)![1]);
  await other.command('n', 'NOOP'); // its view learns of the new message first
  await other.command('b', `STORE ${n} +FLAGS (\\Flagged)`);
  assert.match((await waitFor(idler, /FETCH/)).at(-1)!, new RegExp(`^\\* ${n} FETCH \\(UID \\d+ FLAGS \\(\\\\Flagged\\)\\)$`));
  await other.command('c', `STORE ${n} +FLAGS (\\Deleted)`);
  await waitFor(idler, /FETCH/);
  await other.command('d', 'EXPUNGE');
  assert.equal((await waitFor(idler, /EXPUNGE/)).at(-1), `* ${n} EXPUNGE`);
  idler.write('DONE\r\n');
  assert.deepEqual(await idler.tagged('i'), ['i OK IDLE terminated']);
  idler.write('j IDLE\r\n');
  assert.equal(await idler.line(), '+ idling');
  idler.write('NOT-DONE\r\n');
  assert.deepEqual(await idler.tagged('j'), ['j BAD Expected DONE to end IDLE']);
  idler.close();
  other.close();
});

test('IDLE hears a delivery made by another store process through Redis', async () => {
  const redis: RedisHandle = await startRedis();
  const cfg = redisSchema.parse({ mode: 'single', host: '127.0.0.1', port: redis.port, keyPrefix: 'tmidle:' });
  const conns = Array.from({ length: 4 }, () => createRedis(cfg, { usePrefix: false }));
  const [pubA, subA, pubB, subB] = conns as [RedisClient, RedisClient, RedisClient, RedisClient];
  const here = new StoreChanges('tmidle:', pubA, subA);
  const there = new StoreChanges('tmidle:', pubB, subB);
  const fx2 = await startImapFixture({ idlePollMs: 60_000, changes: here });
  // "Another worker process": a second engine on the same files that tells only its own feed.
  const remote = MessageStore.open(fx2.storeCfg, { onChange: (u) => there.notify(u) });
  try {
    for (const r of conns) await waitReady(r, 5000);
    const { client } = await RawImap.open(fx2.port);
    await client.command('l', 'LOGIN alice demo-password');
    await client.command('s', 'SELECT INBOX');
    client.write('i IDLE\r\n');
    assert.equal(await client.line(), '+ idling');
    await new Promise((r) => setTimeout(r, 100)); // the subscription is live (SUBSCRIBE answered)
    const [o] = await remote.deliver({ data: rfc822('from afar') }, [{ user: ALICE }]);
    assert.equal(o?.status, 'stored');
    assert.equal((await waitFor(client, /EXISTS/, 5000)).at(-1), '* 1 EXISTS');
    assert.ok(here.received >= 1 && there.sent >= 1);
    client.write('DONE\r\n');
    assert.deepEqual(await client.tagged('i'), ['i OK IDLE terminated']);
    client.close();
  } finally {
    remote.close();
    await fx2.stop();
    for (const r of conns) r.disconnect();
    await redis.stop();
  }
});
