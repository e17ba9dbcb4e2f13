// Smoke tests of the harness itself: servers start, answer, and leave nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { freePort } from './ports.js';
import { redisCommand, startRedis } from './redis.js';
import { startSlapd } from './slapd.js';

test('freePort gives distinct bindable ports', async () => {
  const a = await freePort();
  const b = await freePort();
  assert.ok(a > 0 && b > 0);
});

test('startRedis: PING, append-only file, flushAll, stop removes the directory', async () => {
  const redis = await startRedis();
  try {
    assert.equal(await redisCommand(redis.port, ['PING']), '+PONG');
    assert.equal(await redisCommand(redis.port, ['SET', 'k', 'v']), '+OK');
    // Redis 7 keeps a multi-part AOF in appendonlydir/; older versions one appendonly.aof.
    const aofDir = join(redis.dir, 'appendonlydir');
    const aof = existsSync(aofDir)
      ? readdirSync(aofDir).some((f) => f.includes('.aof'))
      : existsSync(join(redis.dir, 'appendonly.aof'));
    assert.ok(aof, `no AOF in ${redis.dir}`);
    await redis.flushAll();
    assert.equal(await redisCommand(redis.port, ['DBSIZE']), ':0');
  } finally {
    await redis.stop();
  }
  assert.equal(existsSync(redis.dir), false);
  await assert.rejects(redisCommand(redis.port, ['PING'], 500));
});

test('startSlapd: admin bind, demo data, restart keeps data, stop removes the directory', async () => {
  const slapd = await startSlapd({ demo: true, mailHost: 'store9.example.test' });
  try {
    const search = async (): Promise<string | undefined> => {
      const c = new Client({ url: slapd.url, timeout: 5000 });
      await c.bind(slapd.adminDn, slapd.adminPassword);
      const { searchEntries } = await c.search(slapd.suffix, { filter: '(uid=alice)', attributes: ['mailHost'] });
      await c.unbind();
      return searchEntries[0]?.['mailHost'] as string | undefined;
    };
    assert.equal(await search(), 'store9.example.test');
    const pid = slapd.pid;
    await slapd.restart();
    assert.notEqual(slapd.pid, pid);
    assert.equal(await search(), 'store9.example.test');
  } finally {
    await slapd.stop();
  }
  assert.equal(existsSync(slapd.dir), false);
});

test('startSlapd reports a port in use with slapd\'s own error', async () => {
  const first = await startSlapd();
  try {
    await assert.rejects(startSlapd({ port: first.port, startTimeoutMs: 3000 }), /did not start[\s\S]*Address already in use/);
  } finally {
    await first.stop();
  }
});
