#!/usr/bin/env node
// `npm run bench -- relay`: mail accepted over SMTP and delivered end to end into the store,
// tiermail (relay → LMTP → store, with slapd and redis-server) beside Postfix → LMTP → Dovecot,
// same load generator, same machine, same run. See docs/benchmarks.md.
//
// For each side: a warm-up, then the peak phase (20 sessions sending 2 KB messages as fast as
// they are accepted) and the time until every accepted message is stored; then a phase at half
// the end-to-end peak rate. Latency is from the 250 after DATA to the message being stored in
// the mailbox, where IMAP sees it: tiermail's store writes its mail.log S record after the
// commit that makes it visible; Dovecot's maildir file appears in new/ when it is visible (its
// mtime). A run counts only if every message that got 250 is found in a mailbox.
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dovecotVersion, ensureDovecot, startDovecot } from './lib/dovecot.mjs';
import { imapBench } from './lib/imap-bench.mjs';
import { freePort, waitGreeting } from './lib/net.mjs';
import { ensurePostfix, postfixVersion, startPostfix } from './lib/postfix.mjs';
import { guard, start, stop, trackDir } from './lib/procs.mjs';
import { fileSystemOf, fmt, machine, writeSection } from './lib/report.mjs';
import { percentile, smtpLoad } from './lib/smtp-load.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const DOC = join(root, 'docs', 'benchmarks.md');
const core = await import(join(root, 'packages', 'core', 'dist', 'index.js'));

const { values: o } = parseArgs({
  options: {
    sessions: { type: 'string', default: '20' },
    users: { type: 'string', default: '100' },
    size: { type: 'string', default: '2048' },
    warmup: { type: 'string', default: '3' },
    duration: { type: 'string', default: '20' },
    half: { type: 'string', default: '15' },
    only: { type: 'string', default: '' },
    'no-write': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string', default: '' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (o.help) {
  process.stdout.write(`npm run bench -- relay [options]
  --sessions N     concurrent SMTP sessions (20)
  --users N        recipients, round-robin (100)
  --size BYTES     message size (2048)
  --warmup S       seconds of load before measuring (3)
  --duration S     peak phase, seconds (20)
  --half S         phase at half the end-to-end peak rate, seconds (15)
  --only LIST      tiermail, postfix
  --no-write       do not update docs/benchmarks.md
  --keep           keep the data directories
  --cpu-prof DIR   run the relay and the store with --cpu-prof, profiles into DIR
`);
  process.exit(0);
}
const cfg = {
  sessions: Number(o.sessions),
  users: Number(o.users),
  size: Number(o.size),
  warmupMs: Number(o.warmup) * 1000,
  durationMs: Number(o.duration) * 1000,
  halfMs: Number(o.half) * 1000,
  only: o.only ? o.only.split(',') : ['tiermail', 'postfix'],
};
const users = Array.from({ length: cfg.users }, (_, i) => `u${i + 1}@example.test`);
const log = (m) => process.stdout.write(`${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
guard();

function newDir(tag) {
  const d = mkdtempSync(join(tmpdir(), `tm-bench-relay-${tag}-`));
  if (!o.keep) trackDir(d);
  else log(`  data in ${d}`);
  return d;
}

// ---------------------------------------------------------------------------------------------
// tiermail: slapd, redis-server, the store, the relay

async function startTiermailStack(dir) {
  const bench = imapBench({ cfg: { users: cfg.users }, users, password: 'bench-password', core, root });
  const ldap = await bench.startSlapd(dir);
  const redisPort = await freePort();
  mkdirSync(join(dir, 'redis'), { recursive: true });
  const redis = start('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', join(dir, 'redis'), '--save', '', '--appendonly', 'no', '--daemonize', 'no']);
  const [lmtpPort, smtpPort] = [await freePort(), await freePort()];
  const common = {
    deployment: { postmaster: 'postmaster@example.test' },
    hosts: { store1: { roles: ['store'], address: '127.0.0.1' }, relay1: { roles: ['relay'], address: '127.0.0.1' } },
    directory: { urls: [ldap.url.replace(/\/$/, '')], baseDn: 'o=tiermail', bindDn: 'cn=admin,o=tiermail', bindPassword: 'bench-admin', defaultDomain: 'example.test' },
    redis: { mode: 'single', host: '127.0.0.1', port: redisPort, keyPrefix: 'tmbench:' },
    log: { level: 'warn' },
    metrics: { enabled: false },
  };
  const storeDir = join(dir, 'store');
  const relayDir = join(dir, 'relay');
  for (const d of [storeDir, relayDir]) mkdirSync(d, { recursive: true });
  const storeConfig = {
    ...common,
    paths: { var: join(storeDir, 'var'), log: join(storeDir, 'log'), run: join(storeDir, 'run') },
    store: { lmtp: { host: '127.0.0.1', port: lmtpPort }, imap: null, pop3: null },
  };
  const relayConfig = {
    ...common,
    hosts: { ...common.hosts, store1: { roles: ['store'], address: '127.0.0.1', overrides: { store: { lmtp: { port: lmtpPort } } } } },
    paths: { var: join(relayDir, 'var'), log: join(relayDir, 'log'), run: join(relayDir, 'run') },
    // Postfix's defaults allow 20 parallel LMTP deliveries to one destination; the same here.
    relay: { smtp: { host: '127.0.0.1', port: smtpPort }, submission: null, maxConnectionsPerIp: 1000, channels: { lmtp: { concurrency: 40, connectionsPerDestination: 20 } } },
  };
  writeFileSync(join(storeDir, 'tiermail.yaml'), JSON.stringify(storeConfig));
  writeFileSync(join(relayDir, 'tiermail.yaml'), JSON.stringify(relayConfig));
  const prof = o['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${o['cpu-prof']}`] : [];
  const store = start(process.execPath, [...prof, join(root, 'packages/store/dist/main.js'), '-c', join(storeDir, 'tiermail.yaml'), '--host', 'store1']);
  await waitGreeting(lmtpPort, store, 'tiermail store');
  const relay = start(process.execPath, [...prof, join(root, 'packages/mta/dist/main.js'), '-c', join(relayDir, 'tiermail.yaml'), '--host', 'relay1']);
  await waitGreeting(smtpPort, relay, 'tiermail relay');
  await sleep(1000);
  const mailLog = join(storeDir, 'log', 'mail.log');
  return {
    smtpPort,
    /** Stored time of each message, by the relay's queue id (S records: "<queue id>.<index>"). */
    stored() {
      const out = new Map();
      if (!existsSync(mailLog)) return out;
      for (const line of readFileSync(mailLog, 'utf8').split('\n')) {
        if (!line.includes('"SL"')) continue;
        try {
          const r = JSON.parse(line);
          if (r.code === 'SL' && r.queueId) out.set(r.queueId.split('.')[0], Date.parse(r.time));
        } catch {
          /* a line being written */
        }
      }
      return out;
    },
    key: (a) => a.queueId,
    async stop() {
      await stop(relay, 30000);
      await stop(store, 20000);
      await stop(redis, 5000);
      await stop(ldap.child, 5000);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Postfix → LMTP → Dovecot

async function startPostfixStack(dir) {
  chmodSync(dir, 0o755); // mkdtemp makes it 0700; Dovecot's and Postfix's users go through it
  const dovecot = await startDovecot(join(dir, 'dovecot'), 'maildir');
  const smtpPort = await freePort();
  const postfix = startPostfix(join(dir, 'postfix'), { smtpPort, lmtpPort: dovecot.port, domain: 'example.test' });
  await waitGreeting(smtpPort, { exitCode: null, signalCode: null, output: () => readFileSync(join(dir, 'postfix', 'maillog'), 'utf8') }, 'postfix');
  const domainDir = join(dir, 'dovecot', 'mail', 'example.test');
  const seen = new Map();
  const head = Buffer.alloc(4096);
  return {
    smtpPort,
    /** Stored time of each message, by its Message-ID: the maildir file's mtime. */
    stored() {
      if (!existsSync(domainDir)) return seen;
      for (const u of readdirSync(domainDir)) {
        for (const sub of ['new', 'cur']) {
          const p = join(domainDir, u, 'Maildir', sub);
          if (!existsSync(p)) continue;
          for (const f of readdirSync(p)) {
            if (seen.has(`f:${f}`)) continue;
            const file = join(p, f);
            const fd = openSync(file, 'r');
            const n = readSync(fd, head, 0, head.length, 0);
            closeSync(fd);
            const m = /Message-ID: <([^@>]+)@bench\.load>/.exec(head.subarray(0, n).toString('latin1'));
            if (!m) continue;
            seen.set(`f:${f}`, true);
            seen.set(m[1], statSync(file).mtimeMs);
          }
        }
      }
      return seen;
    },
    key: (a) => a.id,
    async stop() {
      postfix.stop();
      await dovecot.stop();
    },
  };
}

// ---------------------------------------------------------------------------------------------

async function waitStored(stack, accepted, timeoutMs) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const stored = stack.stored();
    const missing = accepted.filter((a) => !stored.has(stack.key(a)));
    if (missing.length === 0 || Date.now() > until) return { stored, missing: missing.length };
    await sleep(500);
  }
}

function latencies(stack, stored, accepted) {
  return accepted.map((a) => Math.max(0, stored.get(stack.key(a)) - a.t)).sort((x, y) => x - y);
}

async function measure(name, stack) {
  const runId = `${name}${Date.now().toString(36)}`;
  log(`  ${name}: warm-up ${cfg.warmupMs / 1000} s`);
  const warm = await smtpLoad({ port: stack.smtpPort, sessions: cfg.sessions, users, size: cfg.size, durationMs: cfg.warmupMs, rate: 0, runId: `${runId}w` });
  await waitStored(stack, warm.accepted, 60000);
  log(`  ${name}: peak, ${cfg.sessions} sessions for ${cfg.durationMs / 1000} s`);
  const t0 = Date.now();
  const peak = await smtpLoad({ port: stack.smtpPort, sessions: cfg.sessions, users, size: cfg.size, durationMs: cfg.durationMs, rate: 0, runId: `${runId}p` });
  const p = await waitStored(stack, peak.accepted, 180000);
  const lastStored = Math.max(...peak.accepted.map((a) => p.stored.get(stack.key(a)) ?? 0));
  const e2e = peak.accepted.length / ((lastStored - t0) / 1000);
  const lat = latencies(stack, p.stored, peak.accepted);
  const half = e2e / 2;
  log(`  ${name}: ${fmt(peak.accepted.length / (peak.elapsedMs / 1000))} accepted/s, ${fmt(e2e)} stored/s end to end; half rate ${fmt(half)}/s for ${cfg.halfMs / 1000} s`);
  const slow = await smtpLoad({ port: stack.smtpPort, sessions: cfg.sessions, users, size: cfg.size, durationMs: cfg.halfMs, rate: half, runId: `${runId}h` });
  const h = await waitStored(stack, slow.accepted, 120000);
  const hlat = latencies(stack, h.stored, slow.accepted);
  return {
    name,
    accepted: peak.accepted.length,
    acceptRate: peak.accepted.length / (peak.elapsedMs / 1000),
    e2e,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    halfRate: slow.accepted.length / (slow.elapsedMs / 1000),
    halfP50: percentile(hlat, 50),
    halfP99: percentile(hlat, 99),
    refused: peak.refused + slow.refused,
    errors: peak.errors + slow.errors,
    missing: p.missing + h.missing,
  };
}

function section(results, info) {
  const t = results.find((r) => r.name === 'tiermail');
  const pf = results.find((r) => r.name === 'postfix');
  const rows = results.map(
    (r) =>
      `| ${r.label} | ${fmt(r.acceptRate)} | ${fmt(r.e2e)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.halfRate)} | ${fmt(r.halfP50)} | ${fmt(r.halfP99)} | ${r.missing === 0 ? 'all' : `**${r.missing} missing**`} |`,
  );
  const ratio = t && pf ? `${(t.e2e / pf.e2e).toFixed(2)}x` : 'n/a';
  return `## Relay: SMTP in, delivered end to end (\`npm run bench -- relay\`)

Run ${info.date} on ${info.machine.cores} cores (${info.machine.cpu}), ${info.machine.memoryGiB} GiB, ${info.machine.os}, Node ${info.machine.node}; data on ${info.fs}.
tiermail relay (2 SMTP workers and a job controller) → LMTP → tiermail store, with slapd and
redis-server, beside Postfix ${info.postfix} → LMTP → Dovecot ${info.dovecot} (maildir, defaults
otherwise), on the same machine, one after the other. Load: ${cfg.sessions} SMTP sessions, ${cfg.size}-byte
messages to ${cfg.users} users, ${cfg.durationMs / 1000} s at peak (as fast as accepted), then ${cfg.halfMs / 1000} s at half the
end-to-end peak rate. Latency: from the 250 after DATA to the message stored where IMAP sees
it (tiermail: the store's S record, written after its commit; Dovecot: the maildir file in
new/). Every message that got 250 was looked for in the mailboxes ("found").

| server | accepted/s | stored/s end to end | p50 ms | p99 ms | half rate/s | p50 ms | p99 ms | found |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

End to end, tiermail/Postfix+Dovecot: **${ratio}** (target: at least 1.5x). p99 at half the peak
rate: tiermail ${t ? fmt(t.halfP99) : 'n/a'} ms (target: under 1000 ms).
Refused or failed sessions: ${results.map((r) => `${r.label} ${r.refused}/${r.errors}`).join(', ')}.`;
}

async function main() {
  const info = { date: new Date().toISOString().slice(0, 10), machine: machine(), fs: fileSystemOf(tmpdir()) };
  if (cfg.only.includes('postfix')) {
    ensureDovecot();
    ensurePostfix();
  }
  info.postfix = postfixVersion();
  info.dovecot = dovecotVersion();
  log(`relay bench: ${info.machine.cores} cores, Node ${info.machine.node}, Postfix ${info.postfix}, Dovecot ${info.dovecot}`);
  const results = [];
  if (cfg.only.includes('tiermail')) {
    const dir = newDir('tm');
    const stack = await startTiermailStack(dir);
    try {
      results.push({ ...(await measure('tiermail', stack)), label: `tiermail (${availableParallelism()} cores' workers)` });
    } finally {
      await stack.stop();
    }
  }
  if (cfg.only.includes('postfix')) {
    const dir = newDir('pf');
    const stack = await startPostfixStack(dir);
    try {
      results.push({ ...(await measure('postfix', stack)), label: 'Postfix + Dovecot' });
    } finally {
      await stack.stop();
    }
  }
  const text = section(results, info);
  log(`\n${text}\n`);
  if (!o['no-write'] && cfg.only.length === 2 && results.every((r) => r.missing === 0)) writeSection(DOC, 'relay', text);
  if (results.some((r) => r.missing > 0)) process.exitCode = 1;
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    process.stderr.write(`relay bench: ${err.stack ?? err}\n`);
    process.exit(1);
  },
);
