// kill -9 of the relay (primary, SMTP workers and the job controller at once) while 20 clients
// send, then a restart: every message that got its 250 is delivered, each exactly once. What
// got no 250 may or may not arrive (the client would send it again); nothing acknowledged is
// lost, and the spool plus the delivery ids keep a re-run from doubling anything.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { inbox, queueIdOf, startStack, transport, waitFor, type Stack } from './helpers.js';

let stack: Stack;
before(async () => {
  stack = await startStack({ workers: 2, relay: { channels: { lmtp: { retrySeconds: [1], concurrency: 10 } } } });
});
after(async () => {
  await stack?.stop();
});

test('kill -9 of the whole relay under load: every message that got 250 is delivered once after restart', async () => {
  const acknowledged = new Map<string, string>(); // subject -> queue id
  let stop = false;
  let attempts = 0;
  const sender = async (n: number): Promise<void> => {
    const t = transport(stack.relay.port);
    for (let i = 0; !stop && i < 200; i += 1) {
      const subject = `crash ${n}-${i}`;
      attempts += 1;
      try {
        const info = await t.sendMail({ from: 'sender@example.org', to: i % 2 ? 'alice@example.test' : 'bob@example.test', subject, text: `${subject}\n` });
        acknowledged.set(subject, queueIdOf(info.response));
      } catch {
        // no 250: the client keeps the message (and would try again)
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    t.close();
  };
  const senders = Array.from({ length: 20 }, (_, n) => sender(n));
  await waitFor('some messages accepted', () => acknowledged.size >= 60, 30000);
  stack.relay.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 500));
  stop = true;
  await Promise.all(senders);
  const accepted = new Map(acknowledged);
  assert.ok(accepted.size >= 60, `${accepted.size} accepted of ${attempts} tries`);

  await stack.relay.start();
  const subjects = (): Map<string, number> => {
    const seen = new Map<string, number>();
    for (const user of ['alice@example.test', 'bob@example.test']) {
      for (const m of inbox(stack.store, user)) {
        const s = /^Subject: (crash \d+-\d+)\r?$/m.exec(m.text)?.[1];
        if (s) seen.set(s, (seen.get(s) ?? 0) + 1);
      }
    }
    return seen;
  };
  await waitFor(`all ${accepted.size} acknowledged messages delivered`, () => [...accepted.keys()].every((s) => subjects().has(s)), 90000);
  const seen = subjects();
  const doubled = [...seen].filter(([, n]) => n > 1);
  assert.deepEqual(doubled, [], 'no message stored twice');
  const missing = [...accepted.keys()].filter((s) => !seen.has(s));
  assert.deepEqual(missing, []);
});
