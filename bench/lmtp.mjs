#!/usr/bin/env node
// `npm run bench -- lmtp`: LMTP deliveries per second, tiermail's store beside Dovecot's LMTP
// (Debian dovecot-lmtpd), same load generator, same machine, same run. See docs/benchmarks.md.
//
// For each server: a fresh data directory, the server started on a free loopback port, the load
// (20 sessions, one recipient per transaction, 2 KB messages, 100 users) for a warm-up and then
// the measured window, the server stopped, and the mailboxes counted on disk: a run counts only
// if every 250 reply has its message in a mailbox.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createServer, connect } from 'node:net';
import { availableParallelism, tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { cleanup, descendants, guard, start, stop, trackDir } from './lib/procs.mjs';
import { runLoad } from './lib/lmtp-load.mjs';
import { CLK_TCK, machineCpu, treeCpuMs } from './lib/cpu.mjs';
import { freePort, waitGreeting } from './lib/net.mjs';
import { dovecotVersion, ensureDovecot, startDovecot } from './lib/dovecot.mjs';
import { fileSystemOf, fmt, machine, writeSection } from './lib/report.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const DOC = join(root, 'docs', 'benchmarks.md');

const { values: o } = parseArgs({
  options: {
    sessions: { type: 'string', default: '20' },
    users: { type: 'string', default: '100' },
    size: { type: 'string', default: '2048' },
    warmup: { type: 'string', default: '3' },
    duration: { type: 'string', default: '20' },
    workers: { type: 'string', default: '' },
    rounds: { type: 'string', default: '3' },
    only: { type: 'string', default: '' },
    'dovecot-format': { type: 'string', default: 'maildir' },
    dir: { type: 'string', default: '' },
    'cpu-prof': { type: 'string', default: '' },
    'no-write': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (o.help) {
  process.stdout.write(`npm run bench -- lmtp [options]
  --sessions N        concurrent LMTP sessions (20)
  --users N           recipients, spread round-robin (100)
  --size BYTES        message size (2048)
  --warmup S          seconds of load before the measured window (3)
  --duration S        measured window in seconds (20)
  --workers LIST      tiermail store.workers values to run, e.g. 2,1 (cores, then 1)
  --rounds N          repeat every server N times, interleaved; the median run is reported (3)
  --only LIST         run only some of: dovecot, tiermail
  --dovecot-format F  maildir (default) or sdbox
  --dir PATH          where the temporary data directories go (os.tmpdir())
  --cpu-prof DIR      run the tiermail store with --cpu-prof, profiles into DIR
  --no-write          do not update docs/benchmarks.md
  --keep              keep the data directories (their paths are printed)
`);
  process.exit(0);
}

const num = (name, min) => {
  const v = Number(o[name]);
  if (!Number.isFinite(v) || v < min) {
    process.stderr.write(`lmtp bench: --${name} must be a number >= ${min}\n`);
    process.exit(2);
  }
  return v;
};
const cfg = {
  sessions: num('sessions', 1),
  users: num('users', 1),
  size: num('size', 1024),
  warmupMs: num('warmup', 0) * 1000,
  durationMs: num('duration', 1) * 1000,
  rounds: num('rounds', 1),
  workers: (o.workers || `${availableParallelism()},1`)
    .split(',')
    .map(Number)
    .filter((n, i, a) => Number.isInteger(n) && n > 0 && a.indexOf(n) === i),
  only: o.only ? o.only.split(',') : ['dovecot', 'tiermail'],
  format: o['dovecot-format'],
  base: o.dir || tmpdir(),
};
if (!['maildir', 'sdbox'].includes(cfg.format)) {
  process.stderr.write('lmtp bench: --dovecot-format is maildir or sdbox\n');
  process.exit(2);
}
const fullRun = cfg.only.includes('dovecot') && cfg.only.includes('tiermail');
/** Longest the benchmark may take once the servers are there; it stops by itself after. */
const deadline = Date.now() + 15 * 60 * 1000;

guard();

const log = (msg) => process.stdout.write(`${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// CPU time of a server (its live processes, plus the children it has already reaped) and of
// the machine: bench/lib/cpu.mjs.

// ---------------------------------------------------------------------------------------------
// tiermail

const coreDist = join(root, 'packages', 'core', 'dist', 'index.js');
const storeDist = join(root, 'packages', 'store', 'dist', 'index.js');
const storeMain = join(root, 'packages', 'store', 'dist', 'main.js');

async function startTiermail(dir, workers, cpuProfDir) {
  const port = await freePort();
  const configFile = join(dir, 'tiermail.yaml');
  // JSON is YAML. Everything not named here is the store's default (log level info, mail.log
  // on, synchronous=FULL). No Redis runs, so events are dropped at once, as when it is down.
  const config = {
    deployment: { postmaster: 'postmaster@example.test' },
    hosts: { store1: { roles: ['store'], address: '127.0.0.1' } },
    directory: { urls: ['ldap://127.0.0.1:1'], baseDn: 'o=tiermail', bindDn: 'cn=admin,o=tiermail', bindPassword: 'x', defaultDomain: 'example.test' },
    redis: { mode: 'single', host: '127.0.0.1', port: 1, keyPrefix: 'tmbench:' },
    paths: { var: join(dir, 'var'), log: join(dir, 'log'), run: join(dir, 'run') },
    store: { lmtp: { host: '127.0.0.1', port }, workers },
  };
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const args = [...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []), storeMain, '-c', configFile, '--host', 'store1'];
  const child = start(process.execPath, args, { cwd: dir });
  await waitGreeting(port, child, 'tiermail store');
  // The primary forks the workers; wait until all of them listen (each answers on its own).
  const until = Date.now() + 20000;
  while (descendants(child.pid).length < workers && Date.now() < until) await sleep(50);
  await sleep(300);
  return {
    port,
    child,
    stop: () => stop(child, 40000),
    /** Messages in the mailboxes: database rows, quota counters and links on disk. */
    count: async (users) => {
      const { loadConfig } = await import(coreDist);
      const { MessageStore } = await import(storeDist);
      const loaded = loadConfig({ file: configFile, host: 'store1' }).config;
      const store = MessageStore.open(loaded.store);
      let rows = 0;
      try {
        for (const u of users) {
          if (!store.hasUser(u)) continue;
          const m = store.openUser(u, { create: false });
          try {
            for (const b of m.listMailboxes()) rows += m.status(b.name).messages;
          } finally {
            m.close();
          }
        }
        const quota = (await store.stat()).reduce((a, p) => a + p.messages, 0);
        let files = 0;
        for (const p of Object.values(loaded.store.partitions)) files += countMessageFiles(join(p.path, 'users'));
        return { rows, quota, files };
      } finally {
        store.close();
      }
    },
    errors: () => child.output().split('\n').filter((l) => /"level":(50|60)/.test(l)),
  };
}

/** Message links under users/: files in mailbox directories (sidecars and databases excluded). */
function countMessageFiles(usersDir) {
  let n = 0;
  const walk = (d, depth) => {
    let entries = [];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      // users/h1/h2/user/mail/box/<file>: depth 5 below users/
      else if (depth === 5 && !e.name.startsWith('.')) n++;
    }
  };
  walk(usersDir, 0);
  return n;
}

// ---------------------------------------------------------------------------------------------

/** Mean time of a 2 KB write + fsync in the data directory (20 of them), in ms. */
function probeFsync() {
  const d = mkdtempSync(join(cfg.base, 'tm-bench-probe-'));
  try {
    const data = Buffer.alloc(2048, 0x61);
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) {
      const fd = openSync(join(d, 'p'), 'w');
      writeSync(fd, data);
      fsyncSync(fd);
      closeSync(fd);
    }
    return (performance.now() - t0) / 20;
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

let bestProbe = Infinity;

/**
 * Before each run: flush what earlier runs left dirty, then wait (at most 20 s) until an fsync
 * costs about what it cost at best in this benchmark, so that write-back or discards left over
 * by one server do not land in the next one's run. Returns the last probe, in ms.
 */
async function settle() {
  spawnSync('sync');
  const until = Date.now() + 20000;
  let good = 0;
  for (;;) {
    const ms = probeFsync();
    bestProbe = Math.min(bestProbe, ms);
    good = ms <= bestProbe * 1.5 + 0.1 ? good + 1 : 0;
    if (good >= 2 || Date.now() > until) return ms;
    await sleep(1000);
  }
}

async function measure(server, label, rcptParams, probeMs) {
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const cpu = {};
  const r = await runLoad({
    port: server.port,
    sessions: cfg.sessions,
    users: cfg.users,
    size: cfg.size,
    warmupMs: cfg.warmupMs,
    durationMs: cfg.durationMs,
    runId,
    rcptParams: (n) => rcptParams(runId, n),
    onWindow: (edge) => {
      cpu[edge] = treeCpuMs(server.child.pid);
      cpu[`${edge}Machine`] = machineCpu();
    },
  });
  r.serverCpuMs = cpu.end - cpu.start;
  r.cpuMsPerDelivery = r.inWindow ? r.serverCpuMs / r.inWindow : NaN;
  r.serverCpuPercent = (r.serverCpuMs / (r.seconds * 1000)) * 100;
  r.probeMs = probeMs;
  // Share of all cores busy during the window, and what of it was neither the server nor the
  // load generator (kernel threads doing the I/O, and anything else running on the machine).
  const busyTicks = cpu.endMachine.busy - cpu.startMachine.busy;
  const totalTicks = cpu.endMachine.total - cpu.startMachine.total;
  r.machineBusyPercent = (busyTicks / totalTicks) * 100;
  const cores = availableParallelism();
  r.otherCpuPercent = ((busyTicks * 1000) / CLK_TCK / (r.seconds * 1000) / cores) * 100 - (r.serverCpuPercent + r.generatorCpuPercent) / cores;
  log(
    `  ${label}: ${fmt(r.perSecond)} deliveries/s, p50 ${fmt(r.p50, 1)} ms, p99 ${fmt(r.p99, 1)} ms, ` +
      `server CPU ${fmt(r.cpuMsPerDelivery, 2)} ms/delivery (${fmt(r.serverCpuPercent)}%), generator CPU ${fmt(r.generatorCpuPercent)}%, ` +
      `fsync probe before ${fmt(probeMs, 2)} ms, machine busy ${fmt(r.machineBusyPercent)}% (other ${fmt(r.otherCpuPercent)}% of all cores)` +
      (r.failed ? `, ${r.failed} refused: ${JSON.stringify(r.failures)}` : '') +
      (r.errors.length ? `, session errors: ${r.errors.slice(0, 3).join('; ')}` : ''),
  );
  return r;
}

function newDir(tag) {
  mkdirSync(cfg.base, { recursive: true });
  const d = mkdtempSync(join(cfg.base, `tm-bench-${tag}-`));
  if (!o.keep) trackDir(d);
  else log(`  data: ${d}`);
  return d;
}

async function runDovecot() {
  const probeMs = await settle();
  const dir = newDir('dovecot');
  const server = await startDovecot(dir, cfg.format);
  let r;
  try {
    r = await measure(server, `Dovecot ${cfg.format}`, () => '', probeMs);
  } finally {
    await server.stop();
  }
  const stored = server.count();
  const errs = server.errors();
  r.stored = { files: stored };
  r.verified = stored === r.accepted && r.failed === 0 && r.errors.length === 0;
  log(`    check: ${r.accepted} accepted (250), ${stored} messages on disk${errs.length ? `; log errors: ${errs.slice(0, 3).join(' | ')}` : ''} -> ${r.verified ? 'ok' : 'MISMATCH'}`);
  return r;
}

async function runTiermail(workers) {
  const probeMs = await settle();
  const dir = newDir(`tiermail${workers}`);
  const server = await startTiermail(dir, workers, o['cpu-prof'] || '');
  let r;
  try {
    // As a relay sends it: the directory's quota and a delivery id (exactly-once) per recipient.
    r = await measure(server, `tiermail, ${workers} worker${workers > 1 ? 's' : ''}`, (runId, n) => `XQUOTA=1073741824,1000000 XDELIVERYID=${runId}.${n}`, probeMs);
  } finally {
    await server.stop();
  }
  const users = Array.from({ length: cfg.users }, (_, i) => `u${String(i).padStart(3, '0')}@example.test`);
  const c = await server.count(users);
  const errs = server.errors();
  r.stored = c;
  r.verified = c.rows === r.accepted && c.quota === r.accepted && c.files === r.accepted && r.failed === 0 && r.errors.length === 0;
  log(
    `    check: ${r.accepted} accepted (250); ${c.rows} rows, ${c.quota} in quota counters, ${c.files} message files` +
      `${errs.length ? `; log errors: ${errs.slice(0, 3).join(' | ')}` : ''} -> ${r.verified ? 'ok' : 'MISMATCH'}`,
  );
  return r;
}

function median(runs) {
  const sorted = [...runs].sort((a, b) => a.perSecond - b.perSecond);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

function section(results, info) {
  const dv = results.find((x) => x.key === 'dovecot');
  const rows = results.map((x) => {
    const r = x.result;
    const ratio = dv && x.key !== 'dovecot' ? `${fmt(r.perSecond / dv.result.perSecond, 2)}×` : x.key === 'dovecot' ? '1.00×' : '-';
    const all = x.runs.length > 1 ? ` (runs: ${x.runs.map((y) => fmt(y.perSecond)).join(', ')})` : '';
    return `| ${x.label} | **${fmt(r.perSecond)}**${all} | ${ratio} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${fmt(r.cpuMsPerDelivery, 2)} | ${fmt(r.machineBusyPercent)}% (${fmt(r.otherCpuPercent)}%) | ${r.inWindow} / ${r.accepted} / ${x.storedText} |`;
  });
  const m = info.machine;
  return `
### LMTP delivery: tiermail store vs Dovecot LMTP

Last run: ${info.date}. ${cfg.sessions} sessions, one recipient per transaction, ${cfg.size}-byte messages, ${cfg.users} users,
${cfg.warmupMs / 1000} s warm-up then ${cfg.durationMs / 1000} s measured${cfg.rounds > 1 ? `, ${cfg.rounds} rounds interleaved (the median run is shown)` : ''}.

| server | deliveries/s | vs Dovecot | p50 ms | p99 ms | server CPU ms per delivery | machine busy (other) | in window / 250s in all / stored |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Every 250 reply was found in a mailbox after the run (the last column, for the run shown;
tiermail: database rows, quota counters and message files all agree; Dovecot: maildir files).
Machine busy: all cores, over the window; in brackets the part that was neither the server nor
the load generator (kernel threads doing the I/O, anything else on the machine).

Machine: ${m.cores} cores (os.availableParallelism), ${m.memoryGiB} GiB, ${m.cpu}, Linux ${m.kernel}${m.os ? ` (${m.os})` : ''},
Node ${m.node}, Dovecot ${info.dovecot}, data on ${info.fs}.
Command: \`npm run bench -- lmtp${info.argv ? ` ${info.argv}` : ''}\`.
`;
}

async function main() {
  const info = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    machine: machine(),
    argv: process.argv.slice(2).join(' '),
    fs: fileSystemOf(cfg.base),
  };
  if (cfg.only.includes('dovecot')) ensureDovecot();
  info.dovecot = dovecotVersion();
  const m = info.machine;
  log(`lmtp bench: ${m.cores} cores, ${m.cpu}, Node ${m.node}, Dovecot ${info.dovecot}, data on ${info.fs}`);
  log(`  ${cfg.sessions} sessions, ${cfg.users} users, ${cfg.size} B, ${cfg.warmupMs / 1000} s warm-up + ${cfg.durationMs / 1000} s, rounds ${cfg.rounds}`);

  const plan = [];
  if (cfg.only.includes('dovecot')) plan.push({ key: 'dovecot', label: `Dovecot ${info.dovecot} LMTP (${cfg.format}, defaults)`, run: runDovecot });
  if (cfg.only.includes('tiermail'))
    for (const w of cfg.workers) plan.push({ key: `tiermail${w}`, label: `tiermail store, ${w} worker${w > 1 ? 's' : ''}`, run: () => runTiermail(w) });
  for (const p of plan) p.runs = [];
  for (let round = 0; round < cfg.rounds; round++) {
    if (cfg.rounds > 1) log(`round ${round + 1} of ${cfg.rounds}`);
    for (const p of plan) {
      if (Date.now() > deadline) throw new Error('time limit reached');
      p.runs.push(await p.run());
    }
  }
  let ok = true;
  for (const p of plan) {
    p.result = median(p.runs);
    if (p.runs.some((r) => !r.verified)) ok = false;
    p.storedText = `${p.result.stored.files}`;
  }
  log('');
  for (const p of plan) {
    const dv = plan.find((x) => x.key === 'dovecot');
    const ratio = dv && p !== dv ? ` (${fmt(p.result.perSecond / dv.result.perSecond, 2)}× Dovecot)` : '';
    log(`${p.label}: ${fmt(p.result.perSecond)} deliveries/s${ratio}`);
  }
  if (!ok) {
    log('\nverification FAILED: some 250 replies have no message in the mailbox (or deliveries were refused); docs/benchmarks.md not updated');
    process.exitCode = 1;
    return;
  }
  if (o['no-write'] || !fullRun || o['cpu-prof']) {
    log(`\n(docs/benchmarks.md not updated${o['no-write'] ? '' : ': only a full run without profiling writes it'})`);
    return;
  }
  writeSection(DOC, 'lmtp', section(plan, info));
  log(`\nwritten to ${DOC}`);
}

try {
  await main();
} catch (err) {
  process.stderr.write(`lmtp bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
