#!/usr/bin/env node
// A minimal consumer of the store's events (docs/events.md): subscribes to every event type
// and prints one line per event. Usage: node events-consumer.mjs [redis-url] [key-prefix]
import { createRequire } from 'node:module';

// In this repository ioredis comes with packages/core; elsewhere: npm install ioredis, then
// import { Redis } from 'ioredis'.
const { Redis } = createRequire(new URL('../../packages/core/package.json', import.meta.url))('ioredis');

const [url = 'redis://127.0.0.1:6379', prefix = 'tiermail:'] = process.argv.slice(2);
const redis = new Redis(url);
await redis.psubscribe(`${prefix}events:*`);
redis.on('pmessage', (_pattern, channel, body) => {
  let e;
  try {
    e = JSON.parse(body);
  } catch {
    process.stderr.write(`not JSON on ${channel}: ${body.slice(0, 200)}\n`);
    return;
  }
  const detail = e.uids ? `uids ${e.uids.join(',')}` : e.uid ? `uid ${e.uid}` : e.client ? `from ${e.client}` : '';
  process.stdout.write(`${e.time} ${e.host} ${e.type.padEnd(9)} ${e.user} ${e.mailbox ?? ''} ${detail}\n`);
});
process.on('SIGINT', () => {
  redis.disconnect();
  process.exit(0);
});
