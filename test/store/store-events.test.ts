// The store's events for consumers (docs/events.md) from a real store process: Login, ReadMsg,
// UpdateMsg, DeleteMsg and Logout from an IMAP session, beside NewMsg from LMTP, each a JSON
// object on `<keyPrefix>events:<Type>`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { LmtpClient, message } from '../harness/lmtp-client.js';
import { startRedis } from '../harness/redis.js';
import { startSlapd } from '../harness/slapd.js';
import { startStore } from '../harness/store.js';
import { RawImap } from './imap-helpers.js';

test('IMAP activity publishes Login, ReadMsg, UpdateMsg, DeleteMsg, Logout', async () => {
  const slapd = await startSlapd({ demo: true });
  const redis = await startRedis();
  const store = await startStore({ workers: 1, redisPort: redis.port, ldapUrl: slapd.url });
  const sub = new Redis({ port: redis.port, host: '127.0.0.1' });
  const events: Array<Record<string, unknown>> = [];
  try {
    await sub.psubscribe('tmtest:events:*');
    sub.on('pmessage', (_p: string, channel: string, body: string) => events.push({ channel, ...(JSON.parse(body) as object) }));
    await new Promise((r) => setTimeout(r, 500)); // the store's publisher connects in the background
    const { client: lmtp } = await LmtpClient.open(store.port);
    await lmtp.command('LHLO relay1');
    for (const s of ['one', 'two']) await lmtp.transaction('s@example.org', ['<alice@example.test>'], message(s));
    await lmtp.close();

    const { client } = await RawImap.open(store.imapPort, '127.0.0.1');
    await client.command('a', 'LOGIN alice demo-password');
    await client.command('b', 'SELECT INBOX');
    await client.command('c', 'STORE 1 +FLAGS (\\Seen)');
    await client.command('d', 'STORE 2 +FLAGS (\\Flagged \\Deleted)');
    await client.command('e', 'EXPUNGE');
    await client.command('f', 'LOGOUT');
    client.close();
    const until = Date.now() + 5000;
    while (!events.some((e) => e.type === 'Logout') && Date.now() < until) await new Promise((r) => setTimeout(r, 50));

    const types = events.map((e) => e.type);
    assert.deepEqual(types, ['NewMsg', 'NewMsg', 'Login', 'ReadMsg', 'UpdateMsg', 'DeleteMsg', 'Logout']);
    const by = (t: string) => events.find((e) => e.type === t)!;
    assert.equal(by('Login').channel, 'tmtest:events:Login');
    assert.equal(by('Login').user, 'alice@example.test');
    assert.equal(by('Login').service, 'imap');
    assert.equal(by('Login').client, '127.0.0.1');
    assert.deepEqual(by('ReadMsg').uids, [1]);
    assert.equal(by('ReadMsg').mailbox, 'INBOX');
    assert.deepEqual(by('UpdateMsg').uids, [2]);
    assert.deepEqual(by('DeleteMsg').uids, [2]);
    for (const e of events) {
      assert.equal(e.host, 'store1');
      assert.ok(!Number.isNaN(Date.parse(String(e.time))));
    }
  } finally {
    sub.disconnect();
    await store.cleanup();
    await redis.stop();
    await slapd.stop();
  }
});
