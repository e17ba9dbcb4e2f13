// kill -9 of the store (primary and workers) during 20 concurrent LMTP sessions, then restart:
// every recipient that got 250 has the message exactly once, a relay-style retry of everything
// else stores nothing twice, and every user database passes its integrity check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { MessageStore } from '@tiermail/store';
import { startStore } from '../harness/store.js';
import { LmtpClient, message } from '../harness/lmtp-client.js';

const USERS = ['k1', 'k2', 'k3', 'k4', 'k5'].map((u) => `${u}@example.test`);

interface Attempt {
  id: string;
  users: string[];
  acked: Set<string>;
}

async function session(port: number, n: number, attempts: Attempt[], stopAt: number): Promise<void> {
  let conn: LmtpClient | undefined;
  try {
    ({ client: conn } = await LmtpClient.open(port));
    await conn.command('LHLO relay1');
    for (let i = 0; Date.now() < stopAt; i += 1) {
      const id = `s${n}m${i}`;
      const users = [USERS[(n + i) % 5] as string, USERS[(n + i + 2) % 5] as string];
      const a: Attempt = { id, users, acked: new Set() };
      attempts.push(a);
      const r = await conn.transaction('s@example.org', users.map((u) => `<${u}> XDELIVERYID=${id}.${u.split('@')[0]}`), message(`crash ${id}`));
      r.data.forEach((reply, k) => {
        if (reply.startsWith('250')) a.acked.add(users[k] as string);
      });
      if (r.data.some((d) => d === '<closed>')) return;
    }
  } catch {
    // the store died under us: expected
  } finally {
    conn?.socket.destroy();
  }
}

function countsByUser(store: MessageStore): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const user of USERS) {
    const counts = new Map<string, number>();
    if (store.hasUser(user)) {
      const m = store.openUser(user);
      try {
        for (const msg of m.messages('INBOX')) {
          const text = readFileSync(m.readMessage('INBOX', msg.uid).path, 'latin1');
          const id = /Subject: crash (\S+)/.exec(text)?.[1] ?? '?';
          counts.set(id, (counts.get(id) ?? 0) + 1);
        }
      } finally {
        m.close();
      }
    }
    out.set(user, counts);
  }
  return out;
}

test('kill -9 under 20 concurrent sessions loses no acknowledged delivery and duplicates none', async () => {
  const store = await startStore({ workers: 2 });
  try {
    const attempts: Attempt[] = [];
    const stopAt = Date.now() + 5000;
    const sessions = Array.from({ length: 20 }, (_, n) => session(store.port, n, attempts, stopAt));
    await new Promise((r) => setTimeout(r, 1500));
    store.kill('SIGKILL');
    await Promise.all(sessions);
    const acked = attempts.reduce((n, a) => n + a.acked.size, 0);
    assert.ok(acked > 20, `some deliveries were acknowledged before the kill (${acked})`);

    await store.start();
    const engine = MessageStore.open(store.config.store);
    try {
      let counts = countsByUser(engine);
      for (const a of attempts) {
        for (const u of a.users) {
          const c = counts.get(u)?.get(a.id) ?? 0;
          if (a.acked.has(u)) assert.equal(c, 1, `${a.id} to ${u} was acknowledged: exactly one copy`);
          else assert.ok(c <= 1, `${a.id} to ${u}: at most one copy`);
        }
      }
      // The relay retries every unacknowledged recipient with the same delivery id.
      const { client } = await LmtpClient.open(store.port);
      await client.command('LHLO relay1');
      for (const a of attempts) {
        const missing = a.users.filter((u) => !a.acked.has(u));
        if (missing.length === 0) continue;
        const r = await client.transaction('s@example.org', missing.map((u) => `<${u}> XDELIVERYID=${a.id}.${u.split('@')[0]}`), message(`crash ${a.id}`));
        for (const d of r.data) assert.match(d, /^250 /);
      }
      await client.close();
      counts = countsByUser(engine);
      for (const a of attempts) for (const u of a.users) assert.equal(counts.get(u)?.get(a.id), 1, `${a.id} to ${u} exactly once after the retry`);
      for (const u of USERS) {
        const report = await engine.checkIntegrity(u);
        assert.ok(report.ok, `${u}: ${report.problems.join('; ')}`);
      }
    } finally {
      engine.close();
    }
  } finally {
    await store.stop();
    await store.cleanup();
  }
});
