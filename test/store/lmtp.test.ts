// The store's LMTP server over real sockets, against the real store process (cluster primary
// with workers), checked by reading the store with the engine API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { MessageStore } from '@tiermail/store';
import { startStore, type StoreHandle } from '../harness/store.js';
import { LmtpClient, message } from '../harness/lmtp-client.js';

let store: StoreHandle;

before(async () => {
  store = await startStore({ workers: 2, limits: { maxMessageSize: 1024 * 1024, maxLineLength: 1000 } });
});
after(async () => {
  await store?.stop();
  await store?.cleanup();
});

function withEngine<T>(fn: (s: MessageStore) => T): T {
  const s = MessageStore.open(store.config.store);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

function inbox(user: string, folder = 'INBOX'): Array<{ uid: number; path: string; size: number }> {
  return withEngine((s) => {
    if (!s.hasUser(user)) return [];
    const m = s.openUser(user);
    try {
      return m.messages(folder).map((x) => ({ uid: x.uid, ...m.readMessage(folder, x.uid) }));
    } finally {
      m.close();
    }
  });
}

test('one transaction to three recipients: three 250s and one inode linked three times plus the partition', async () => {
  const { client, greeting } = await LmtpClient.open(store.port);
  assert.match(greeting, /^220 store1 LMTP/);
  assert.match(await client.command('LHLO relay1'), /250 XDELIVERYID$/);
  const r = await client.transaction('sender@example.org', ['<one@example.test>', '<two@example.test>', '<three>'], message('three'));
  await client.close();
  assert.equal(r.data.length, 3);
  for (const d of r.data) assert.match(d, /^250 2\.1\.5 </);
  const paths = ['one', 'two', 'three'].map((u) => inbox(`${u}@example.test`)[0]?.path);
  const inodes = new Set(paths.map((p) => statSync(p ?? '').ino));
  assert.equal(inodes.size, 1, 'one file for the three recipients');
  assert.equal(statSync(paths[0] ?? '').nlink, 4, 'three recipients and the partition');
});

test('UID=RET answers <uidvalidity:uid:folder>, +folder delivers to an existing folder only', async () => {
  withEngine((s) => {
    const m = s.openUser('dana@example.test', { create: true });
    m.createMailbox('Lists');
    m.close();
  });
  const { client } = await LmtpClient.open(store.port);
  await client.command('LHLO relay1');
  const r = await client.transaction('s@example.org', ['<dana+Lists@example.test>', '<dana+Nowhere@example.test>'], message('uidret'), 'UID=RET');
  await client.close();
  assert.match(r.data[0] ?? '', /^250 2\.1\.5 <\d+:1:Lists> <dana\+Lists@example\.test> Delivered/);
  assert.match(r.data[1] ?? '', /^250 2\.1\.5 <\d+:\d+:INBOX> /);
  assert.equal(inbox('dana@example.test', 'Lists').length, 1);
});

test('mixed replies: an over-quota recipient gets 452 4.2.2 while the others get 250', async () => {
  const { client } = await LmtpClient.open(store.port);
  await client.command('LHLO relay1');
  const big = message('fill', `${'x'.repeat(2000)}\r\n`);
  const first = await client.transaction('s@example.org', ['<small@example.test> XQUOTA=3000,100'], big);
  assert.match(first.data[0] ?? '', /^250 /);
  const r = await client.transaction('s@example.org', ['<small@example.test> XQUOTA=3000,100', '<roomy@example.test> XQUOTA=-1,-1'], big);
  assert.match(r.data[0] ?? '', /^452 4\.2\.2 <small@example\.test> Mailbox over quota/);
  assert.match(r.data[1] ?? '', /^250 2\.1\.5 /);
  await client.close();
});

test('malformed messages get 554 5.6.0 for every recipient, and the session goes on', async () => {
  const { client } = await LmtpClient.open(store.port);
  await client.command('LHLO relay1');
  const cases: Array<[string, RegExp]> = [
    ['Subject: x\r\n\r\nnul \x00 here\r\n', /NUL/],
    ['Subject: x\r\n\r\nbare\nlf\r\n', /bare LF/],
    ['Subject: only header\r\n', /no blank line/],
    ['not a header line\r\n\r\nbody\r\n', /malformed header/],
  ];
  for (const [msg, why] of cases) {
    const r = await client.transaction('s@example.org', ['<m1@example.test>', '<m2@example.test>'], msg);
    assert.equal(r.data.length, 2);
    for (const d of r.data) {
      assert.match(d, /^554 5\.6\.0 </);
      assert.match(d, why);
    }
  }
  const ok = await client.transaction('s@example.org', ['<m1@example.test>'], message('fine'));
  assert.match(ok.data[0] ?? '', /^250 /);
  await client.close();
  assert.equal(inbox('m1@example.test').length, 1);
  assert.equal(inbox('m2@example.test').length, 0);
});

test('the same delivery id twice is stored once, also across a store restart', async () => {
  const send = async (): Promise<string> => {
    const { client } = await LmtpClient.open(store.port);
    await client.command('LHLO relay1');
    const r = await client.transaction('s@example.org', ['<eve@example.test> XDELIVERYID=Q42.eve'], message('dedup'));
    await client.close();
    return r.data[0] ?? '';
  };
  assert.match(await send(), /^250 2\.1\.5 .*Delivered/);
  assert.match(await send(), /^250 2\.1\.5 .*Already delivered/);
  await store.stop();
  await store.start();
  assert.match(await send(), /^250 2\.1\.5 .*Already delivered/);
  assert.equal(inbox('eve@example.test').length, 1);
});

test('bad input: overlong line, unknown command, DATA before RCPT, oversize and garbage; the server stays up', async () => {
  const { client } = await LmtpClient.open(store.port);
  assert.match(await client.command('MAIL FROM:<a@b.example>'), /^503 5\.5\.1 Send LHLO first/);
  await client.command('LHLO relay1');
  assert.match(await client.command(`NOOP ${'x'.repeat(5000)}`), /^500 5\.5\.2 Line too long/);
  assert.match(await client.command('FROBNICATE'), /^500 5\.5\.1 Unknown command/);
  assert.match(await client.command('MAIL FROM:<a@b.example>'), /^250 /);
  assert.match(await client.command('DATA'), /^503 5\.5\.1 Need RCPT before DATA/);
  await client.command('RSET');
  // Over maxMessageSize (1 MiB here): drained and refused per recipient, session usable after.
  const huge = message('huge', `${'y'.repeat(998)}\r\n`.repeat(1100));
  const r = await client.transaction('a@b.example', ['<big@example.test>'], huge);
  assert.match(r.data[0] ?? '', /^552 5\.2\.3 /);
  assert.match(await client.command('NOOP'), /^250 /);
  await client.close();

  // 10 MB of binary garbage with no newline, then a new session must still work.
  const g = await LmtpClient.open(store.port);
  const junk = Buffer.alloc(10 * 1024 * 1024);
  for (let i = 0; i < junk.length; i += 1) junk[i] = (i * 7919) % 256 === 10 ? 0 : (i * 7919) % 256;
  g.client.write(junk);
  g.client.write('\r\n');
  const answer = await g.client.reply();
  assert.match(answer, /^(500 5\.5\.2|421 4\.7\.0)/);
  g.client.socket.destroy();
  const after = await LmtpClient.open(store.port);
  assert.match(await after.client.command('LHLO relay1'), /^250-store1/);
  await after.client.close();
  assert.equal(inbox('big@example.test').length, 0);
});

test('a client that disconnects mid-DATA leaves nothing behind', async () => {
  const { client } = await LmtpClient.open(store.port);
  await client.command('LHLO relay1');
  await client.command('MAIL FROM:<a@b.example>');
  await client.command('RCPT TO:<half@example.test>');
  await client.command('DATA');
  client.write('Subject: half\r\n\r\npart of a body');
  client.socket.destroy();
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(inbox('half@example.test').length, 0);
});
