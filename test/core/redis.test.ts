// The Redis factory against real redis-server processes: single mode, Sentinel mode (a real
// sentinel: redis-server --sentinel), and a server that is down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRedis, waitReady, redisSchema } from '@tiermail/core';
import { startRedis, redisCommand } from '../harness/redis.js';
import { freePort } from '../harness/ports.js';
import { terminate } from '../harness/processes.js';

test('single mode: keys carry the configured prefix', async () => {
  const server = await startRedis();
  const client = createRedis(redisSchema.parse({ mode: 'single', port: server.port, keyPrefix: 'tmtest:' }));
  try {
    await waitReady(client, 5000);
    await client.set('hello', 'world');
    assert.equal(await redisCommand(server.port, ['GET', 'tmtest:hello']), '$5');
    assert.equal(await client.get('hello'), 'world');
  } finally {
    client.disconnect();
    await server.stop();
  }
});

test('sentinel mode: the client finds the master through a real sentinel', async () => {
  const master = await startRedis();
  const sentinelPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tm-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(conf, `port ${sentinelPort}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor tm 127.0.0.1 ${master.port} 1\n`);
  const sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  const client = createRedis(
    redisSchema.parse({ mode: 'sentinel', name: 'tm', sentinels: [{ host: '127.0.0.1', port: sentinelPort }], keyPrefix: 's:' }),
  );
  try {
    await waitReady(client, 10000);
    await client.set('k', 'v');
    assert.equal(await redisCommand(master.port, ['EXISTS', 's:k']), ':1');
  } finally {
    client.disconnect();
    await terminate(sentinel);
    await master.stop();
  }
});

test('a server that is down gives a clear error within the time limit', async () => {
  const port = await freePort();
  const client = createRedis(redisSchema.parse({ mode: 'single', port, connectTimeoutMs: 500 }));
  try {
    await assert.rejects(waitReady(client, 1500), /redis not ready after 1500 ms/);
  } finally {
    client.disconnect();
  }
});
