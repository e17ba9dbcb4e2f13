// MULTIAPPEND (RFC 3502): several messages in one APPEND, stored all or none, APPENDUID with
// the UID set (RFC 4315).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RawImap, startImapFixture, type ImapFixture } from './imap-helpers.js';

let fx: ImapFixture;
before(async () => {
  fx = await startImapFixture();
});
after(async () => {
  await fx.stop();
});

const msg = (s: string): string => `Subject: ${s}\r\n\r\n${s} body\r\n`;
const lit = (s: string): string => `{${Buffer.byteLength(s)}+}\r\n${s}`;

test('MULTIAPPEND stores every message with its own flags and answers the UID set', async () => {
  const { client } = await RawImap.open(fx.port);
  await client.command('l', 'LOGIN alice demo-password');
  await client.command('c', 'CREATE Batch');
  const st = await client.command('s', 'STATUS Batch (UIDVALIDITY)');
  const uv = /UIDVALIDITY (\d+)/.exec(st[0]!)![1];
  client.write(`a APPEND Batch (\\Seen) ${lit(msg('one'))} (\\Flagged) "01-Jan-2025 10:00:00 +0000" ${lit(msg('two'))} ${lit(msg('three'))}\r\n`);
  assert.deepEqual(await client.tagged('a'), [`a OK [APPENDUID ${uv} 1:3] APPEND completed`]);
  await client.command('x', 'SELECT Batch');
  assert.deepEqual(await client.command('f', 'FETCH 1:3 (FLAGS INTERNALDATE)'), [
    `* 1 FETCH (FLAGS (\\Seen) INTERNALDATE ${(await client.command('g', 'FETCH 1 INTERNALDATE'))[0]!.match(/"[^"]+"/)![0]})`,
    '* 2 FETCH (FLAGS (\\Flagged) INTERNALDATE "01-Jan-2025 10:00:00 +0000")',
    `* 3 FETCH (FLAGS () INTERNALDATE ${(await client.command('h', 'FETCH 3 INTERNALDATE'))[0]!.match(/"[^"]+"/)![0]})`,
    'f OK FETCH completed',
  ]);
  client.close();
});

test('a MULTIAPPEND that runs over quota stores nothing', async () => {
  const user = 'bob@example.test';
  const first = Buffer.from(msg('quota seed'));
  // 3 KB quota, passed with a delivery as the relay would.
  const [o] = await fx.store.deliver({ data: first }, [{ user, quotaBytes: 3000 }]);
  assert.equal(o?.status, 'stored');
  const { client } = await RawImap.open(fx.port);
  await client.command('l', 'LOGIN bob demo-password');
  const big = msg('x'.repeat(1200));
  client.write(`a APPEND INBOX ${lit(big)} ${lit(big)} ${lit(big)}\r\n`);
  assert.deepEqual(await client.tagged('a'), ['a NO [OVERQUOTA] Quota exceeded']);
  assert.deepEqual(await client.command('b', 'STATUS INBOX (MESSAGES)'), ['* STATUS INBOX (MESSAGES 1)', 'b OK STATUS completed']);
  client.write(`c APPEND Nowhere ${lit(msg('x'))} ${lit(msg('y'))}\r\n`);
  assert.deepEqual(await client.tagged('c'), ['c NO [TRYCREATE] Mailbox does not exist']);
  client.close();
});
