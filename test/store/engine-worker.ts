// Forked by engine-concurrency.test.ts: one process delivering to shared users, as an LMTP
// cluster worker would. argv: <store config JSON> <count> <tag> <user>...
// Reports every delivery's outcomes as it gets them (an LMTP reply), then { done: true }.
import { writeFileSync } from 'node:fs';
import type { StoreConfig } from '@tiermail/core';
import { MessageStore } from '@tiermail/store/engine/index';

const [cfgJson, countText, tag, ...users] = process.argv.slice(2);
const cfg = JSON.parse(cfgJson!) as StoreConfig;
const store = MessageStore.open(cfg);
const send = (msg: unknown): Promise<void> => new Promise((resolve) => process.send!(msg, undefined, undefined, () => resolve()));

for (let i = 0; i < Number(countText); i++) {
  const text = `From: w@example.test\r\nSubject: ${tag} ${i}\r\n\r\nbody ${tag} ${i}\r\n`;
  // Half the messages come through a spool file, as LMTP hands them over.
  let body: { path: string } | { data: Buffer };
  if (i % 2 === 0) {
    const path = store.tempPathFor(users[0]);
    writeFileSync(path, text);
    body = { path };
  } else {
    body = { data: Buffer.from(text) };
  }
  const outcomes = await store.deliver(body, users.map((user) => ({ user, deliveryId: `${tag}-${i}-${user}` })));
  await send({ tag, i, outcomes });
}
store.close();
await send({ tag, done: true });
process.exit(0);
