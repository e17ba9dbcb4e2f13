// What a delivery sets off besides storing: NewMsg/OverQuota events on Redis pub/sub, the
// quota warning message once per period, and the mail.log S records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { MessageStore, publishChange } from '@tiermail/store';
import { parseMailLogLine } from '@tiermail/core';
import { startRedis } from '../harness/redis.js';
import { startStore } from '../harness/store.js';
import { LmtpClient, message } from '../harness/lmtp-client.js';

test('deliveries publish NewMsg and OverQuota, warn once at 90% and log S records; removals after a refusal give UnderQuota', async () => {
  const redis = await startRedis();
  const store = await startStore({ workers: 1, redisPort: redis.port });
  const sub = new Redis({ port: redis.port, host: '127.0.0.1' });
  const events: Array<Record<string, unknown>> = [];
  try {
    await sub.psubscribe('tmtest:events:*');
    sub.on('pmessage', (_p: string, channel: string, body: string) => events.push({ channel, ...(JSON.parse(body) as object) }));
    // The store's publisher connects in the background; give it a moment to be ready.
    await new Promise((r) => setTimeout(r, 500));

    const { client } = await LmtpClient.open(store.port);
    await client.command('LHLO relay1');
    const body = `${'z'.repeat(990)}\r\n`;
    const replies: string[] = [];
    // Quota 5000 bytes: the 5th message passes 90%, the 6th is over quota.
    for (let i = 0; i < 6; i += 1) {
      const r = await client.transaction('s@example.org', ['<quinn@example.test> XQUOTA=5000,100'], message(`q${i}`, body));
      replies.push(r.data[0] ?? '');
    }
    await client.close();
    assert.ok(replies.some((r) => r.startsWith('452 4.2.2')), replies.join('\n'));
    await new Promise((r) => setTimeout(r, 500));

    const newMsg = events.filter((e) => e.type === 'NewMsg' && e.user === 'quinn@example.test');
    assert.equal(newMsg.length, replies.filter((r) => r.startsWith('250')).length);
    assert.equal(newMsg[0]?.channel, 'tmtest:events:NewMsg');
    assert.equal(newMsg[0]?.mailbox, 'INBOX');
    assert.equal(typeof newMsg[0]?.uid, 'number');
    assert.equal(newMsg[0]?.from, 's@example.org');
    assert.ok(events.some((e) => e.type === 'OverQuota' && e.user === 'quinn@example.test'));

    const engine = MessageStore.open(store.config.store);
    try {
      const m = engine.openUser('quinn@example.test');
      const subjects = m.messages('INBOX').map((x) => /Subject: ([^\r\n]*)/.exec(readFileSync(m.readMessage('INBOX', x.uid).path, 'latin1'))?.[1]);
      m.close();
      const warnings = subjects.filter((s) => s?.startsWith('Your mailbox is'));
      assert.equal(warnings.length, 1, subjects.join(' | '));
    } finally {
      engine.close();
    }

    // Removing messages after a refusal for quota brings quinn back under it: UnderQuota,
    // once (a second removal is not a new event).
    const kinds: string[] = [];
    const admin = MessageStore.open(store.config.store, { onChange: (_u, c) => kinds.push(c.kind) });
    try {
      const m = admin.openUser('quinn@example.test');
      const uids = m.messages('INBOX').map((x) => x.uid);
      await m.remove('INBOX', uids.slice(0, 3));
      await m.remove('INBOX', uids.slice(3, 4));
      m.close();
    } finally {
      admin.close();
    }
    assert.equal(kinds.filter((k) => k === 'under-quota').length, 1, kinds.join(' '));
    const published: Array<{ type: string; user: string }> = [];
    publishChange({ publish: (e) => published.push(e) }, 'quinn@example.test', { kind: 'under-quota' });
    assert.deepEqual(published, [{ type: 'UnderQuota', user: 'quinn@example.test' }]);

    const log = readFileSync(join(store.config.paths.log, 'mail.log'), 'utf8').trim().split('\n').map(parseMailLogLine);
    const quinn = log.filter((r) => r?.to === 'quinn@example.test');
    assert.equal(quinn.filter((r) => r?.code === 'SL').length, newMsg.length);
    assert.ok(quinn.some((r) => r?.code === 'QL' && /452 4\.2\.2/.test(r.answer ?? '')));
  } finally {
    sub.disconnect();
    await store.stop();
    await store.cleanup();
    await redis.stop();
  }
});

test('deliveries go on while Redis is down: events are dropped, mail is not', async () => {
  const redis = await startRedis();
  const store = await startStore({ workers: 1, redisPort: redis.port });
  try {
    await redis.stop();
    const { client } = await LmtpClient.open(store.port);
    await client.command('LHLO relay1');
    const r = await client.transaction('s@example.org', ['<rita@example.test>'], message('no redis'));
    await client.close();
    assert.match(r.data[0] ?? '', /^250 /);
  } finally {
    await store.stop();
    await store.cleanup();
  }
});
