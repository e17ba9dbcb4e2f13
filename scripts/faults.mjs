#!/usr/bin/env node
// `npm run faults`: the fault-injection run. A whole stack (slapd, redis-server, a store, a
// relay with 2 SMTP workers) takes a steady SMTP load while, one after the other, a relay
// worker, the relay primary (with its workers), redis-server, the store and slapd are killed
// with SIGKILL and started again, and the store is frozen (SIGSTOP, a host that stops
// answering). After each fault every message that got 250 must be in its mailbox, once:
// lost and duplicated messages are counted and written to docs/reliability.md.
//
// It uses the test harness (test/dist/harness, built by `npx tsc -b`), is bounded in time
// (about 3 minutes) and is not part of `npm test`; the same faults, smaller, are tests there
// (test/mta/relay-crash, relay-retry FLUSHALL, test/store/lmtp-crash, test/watcher).
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const h = (p) => import(join(root, 'test', 'dist', p));
const { startSlapd } = await h('harness/slapd.js');
const { startRedis } = await h('harness/redis.js');
const { startStore } = await h('harness/store.js');
const { startRelay } = await h('harness/relay.js');
const { inbox, transport } = await h('mta/helpers.js');

const quick = process.argv.includes('--quick');
const LOAD_MS = quick ? 1500 : 3000;
const SENDERS = 4;
const log = (m) => process.stdout.write(`${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Pids of every descendant of pid (cluster workers). */
function children(pid) {
  const out = [];
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    for (const c of readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(/\s+/).filter(Boolean)) out.push(Number(c));
  }
  return out;
}

const slapd = await startSlapd({ demo: true, mailHost: 'store1' });
let redis = await startRedis();
const redisPort = redis.port;
const redisDir = redis.dir;
const store = await startStore({ workers: 1, redisPort, ldapUrl: slapd.url });
const relay = await startRelay({
  ldapUrl: slapd.url,
  redisPort,
  storePort: store.port,
  workers: 2,
  relay: { channels: { lmtp: { retrySeconds: [1], concurrency: 10 } } },
});
const users = ['alice@example.test', 'bob@example.test'];

async function load(tag, ms) {
  const accepted = [];
  let refused = 0;
  const until = Date.now() + ms;
  await Promise.all(
    Array.from({ length: SENDERS }, async (_, s) => {
      const t = transport(relay.port);
      for (let i = 0; Date.now() < until; i += 1) {
        const subject = `fault ${tag} ${s}-${i}`;
        try {
          await t.sendMail({ from: 'load@example.org', to: users[i % 2], subject, text: subject });
          accepted.push(subject);
        } catch {
          refused += 1; // no 250: the sender keeps it and would try again
          await sleep(100);
        }
        await sleep(20);
      }
      t.close();
    }),
  );
  return { accepted, refused };
}

function stored() {
  const seen = new Map();
  for (const u of users) {
    for (const m of inbox(store, u)) {
      const s = /^Subject: (fault [^\r\n]*)/m.exec(m.text)?.[1];
      if (s) seen.set(s, (seen.get(s) ?? 0) + 1);
    }
  }
  return seen;
}

const faults = [
  ['a relay SMTP worker (SIGKILL)', async () => process.kill(children(relay.pid)[0], 'SIGKILL')],
  [
    'the relay primary and all its workers (SIGKILL), then started',
    async () => {
      relay.kill('SIGKILL');
      await sleep(1000);
      await relay.start();
    },
  ],
  [
    'redis-server (SIGKILL; no persistence: every job lost), then started',
    async () => {
      redis.kill('SIGKILL');
      await sleep(1000);
      redis = await startRedis({ port: redisPort, dir: redisDir });
    },
  ],
  [
    'the store (SIGKILL, primary and workers), then started',
    async () => {
      store.kill('SIGKILL');
      await sleep(1000);
      await store.start();
    },
  ],
  [
    'slapd (SIGKILL), then started',
    async () => {
      slapd.kill('SIGKILL');
      await sleep(1500);
      await slapd.restart();
    },
  ],
  [
    'the store frozen for 5 s (SIGSTOP, a host that stops answering)',
    async () => {
      process.kill(-store.pid, 'SIGSTOP');
      await sleep(5000);
      process.kill(-store.pid, 'SIGCONT');
    },
  ],
];

const rows = [];
try {
  for (const [name, inject] of faults) {
    const tag = rows.length + 1;
    log(`fault ${tag}: ${name}`);
    const before = load(`${tag}`, LOAD_MS * 2);
    await sleep(LOAD_MS);
    const t0 = Date.now();
    await inject();
    const { accepted, refused } = await before;
    let seen = stored();
    const deadline = Date.now() + 120000;
    while (accepted.some((s) => !seen.has(s)) && Date.now() < deadline) {
      await sleep(500);
      seen = stored();
    }
    const lost = accepted.filter((s) => !seen.has(s)).length;
    const duplicates = accepted.filter((s) => (seen.get(s) ?? 0) > 1).length;
    const row = { name, acknowledged: accepted.length, refused, lost, duplicates, recoverS: (Date.now() - t0) / 1000 };
    rows.push(row);
    log(`  ${row.acknowledged} acknowledged, ${refused} refused (not acknowledged), ${lost} lost, ${duplicates} duplicated; all in place ${row.recoverS.toFixed(1)} s after the fault`);
  }
} finally {
  await relay.stop().catch(() => undefined);
  await relay.cleanup();
  await store.stop().catch(() => undefined);
  await store.cleanup();
  await redis.stop().catch(() => undefined);
  await slapd.stop();
}

const date = new Date().toISOString().slice(0, 10);
const total = rows.reduce((a, r) => ({ lost: a.lost + r.lost, dup: a.dup + r.duplicates }), { lost: 0, dup: 0 });
const doc = `# Reliability under faults

Written by \`npm run faults\` (scripts/faults.mjs) on ${date}, ${availableParallelism()} cores, ${Math.round(totalmem() / 1024 ** 3)} GiB.
A stack of slapd, redis-server (no persistence), one store and one relay (2 SMTP workers)
takes ${SENDERS} SMTP senders sending to two users without pause; each fault below is injected
${LOAD_MS / 1000} s into ${(LOAD_MS * 2) / 1000} s of load. "Acknowledged" messages got 250 from the relay; "refused" got
an error (or a dropped connection) and stay with their sender, as SMTP intends. Afterwards
every acknowledged message is looked for in the mailboxes: lost ones are missing, duplicated
ones are there more than once.

| fault | acknowledged | refused | lost | duplicated | all in place after |
|---|---|---|---|---|---|
${rows.map((r) => `| ${r.name} | ${r.acknowledged} | ${r.refused} | **${r.lost}** | **${r.duplicates}** | ${r.recoverS.toFixed(1)} s |`).join('\n')}

Total: **${total.lost} lost, ${total.dup} duplicated**.

Why: the relay answers 250 only once the message and its envelope are fsynced in the spool;
the spool, not Redis, is the truth (a resync re-creates lost jobs); every LMTP recipient
carries a delivery id the store uses to drop repeats; the store acknowledges only after its
commit. Not injected yet: a partition filled past its high-water mark, the network cut to a
store host (a frozen store stands in for it), the MMP (it holds no mail).
`;
if (!quick) writeFileSync(join(root, 'docs', 'reliability.md'), doc);
log(`\n${doc}`);
process.exit(total.lost + total.dup > 0 ? 1 : 0);
