#!/usr/bin/env node
// `npm run bench -- relay`: mail accepted over SMTP and delivered end to end into the mailbox,
// tiermail (relay → LMTP → store, with slapd and redis-server) beside Postfix → LMTP → Dovecot,
// same load generator, same machine, same run. See docs/benchmarks.md.
//
// For each side: a warm-up, then the peak phase (20 sessions sending 2 KB messages as fast as
// they are accepted) and the time until every accepted message is stored; then a phase at half
// the end-to-end peak rate. Latency is from the 250 after DATA to the message being visible
// over IMAP: watcher connections on a sample of the users poll their INBOX (bench/lib/
// imap-watch.mjs) and stamp each message with the reply that first shows it. Beside that, every
// message's store time is taken from the server's own record (tiermail's store writes its
// mail.log S record after the commit that makes it visible; Dovecot's maildir file: its mtime),
// which is how delivery is counted and the end-to-end rate measured. A run counts only if every
// message that got 250 is found in a mailbox, and IMAP STATUS over all the users adds up to the
// number of 250 replies.
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dovecotVersion, ensureDovecot, startDovecot } from './lib/dovecot.mjs';
import { imapBench } from './lib/imap-bench.mjs';
import { countAll, watchInboxes } from './lib/imap-watch.mjs';
import { freePort, waitGreeting } from './lib/net.mjs';
import { ensurePostfix, postfixVersion, startPostfix } from './lib/postfix.mjs';
import { CLK_TCK, machineCpu, treeCpuMs, waitQuiet } from './lib/cpu.mjs';
import { guard, start, stop, trackDir, untrackDir } from './lib/procs.mjs';
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
    rounds: { type: 'string', default: '2' },
    'quiet-wait': { type: 'string', default: '20' },
    watch: { type: 'string', default: '10' },
    'poll-ms': { type: 'string', default: '20' },
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
  --rounds N       runs of each server, interleaved, pooled in the report (2)
  --quiet-wait S   before each run, wait up to S seconds for the machine to be under 25% busy (20)
  --watch N        users watched over IMAP for the 250-to-visible latency (10)
  --poll-ms MS     how often each watcher polls its INBOX (NOOP) (20)
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
  rounds: Math.max(1, Number(o.rounds)),
  quietWaitMs: Number(o['quiet-wait']) * 1000,
  watch: Number(o.watch),
  pollMs: Number(o['poll-ms']),
  only: o.only ? o.only.split(',') : ['tiermail', 'postfix'],
};
const users = Array.from({ length: cfg.users }, (_, i) => `u${i + 1}@example.test`);
// Watched users spread over the list: the load sends to users round-robin, so each one gets the
// same share of the messages.
const watched = Array.from({ length: Math.min(cfg.watch, cfg.users) }, (_, k) => users[Math.floor((k * cfg.users) / Math.min(cfg.watch, cfg.users))]);
const PASSWORD = 'bench-password';
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
  const bench = imapBench({ cfg: { users: cfg.users }, users, password: PASSWORD, core, root });
  const ldap = await bench.startSlapd(dir);
  const redisPort = await freePort();
  mkdirSync(join(dir, 'redis'), { recursive: true });
  const redis = start('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', join(dir, 'redis'), '--save', '', '--appendonly', 'no', '--daemonize', 'no']);
  const [lmtpPort, smtpPort, imapPort] = [await freePort(), await freePort(), await freePort()];
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
    store: { lmtp: { host: '127.0.0.1', port: lmtpPort }, imap: { host: '127.0.0.1', port: imapPort }, pop3: null },
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
  const storedAt = new Map();
  const chunk = Buffer.alloc(1 << 20);
  let logOffset = 0;
  let partial = '';
  return {
    smtpPort,
    imapPort,
    /** The server processes whose CPU time is counted, by name. */
    procs: () => ({ relay: relay.pid, store: store.pid, 'redis-server': redis.pid, slapd: ldap.child.pid }),
    /** Stored time of each message, by the relay's queue id (S records: "<queue id>.<index>").
     * Reads only what was appended since the last call. */
    stored() {
      if (!existsSync(mailLog)) return storedAt;
      const fd = openSync(mailLog, 'r');
      try {
        for (;;) {
          const n = readSync(fd, chunk, 0, chunk.length, logOffset);
          if (n <= 0) break;
          logOffset += n;
          const text = partial + chunk.toString('utf8', 0, n);
          const lines = text.split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) {
            if (!line.includes('"SL"')) continue;
            const r = JSON.parse(line);
            if (r.code === 'SL' && r.queueId) storedAt.set(r.queueId.split('.')[0], Date.parse(r.time));
          }
        }
      } finally {
        closeSync(fd);
      }
      return storedAt;
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
  const dovecot = await startDovecot(join(dir, 'dovecot'), 'maildir', { imap: true });
  const smtpPort = await freePort();
  const postfix = startPostfix(join(dir, 'postfix'), { smtpPort, lmtpPort: dovecot.port, domain: 'example.test' });
  await waitGreeting(smtpPort, { exitCode: null, signalCode: null, output: () => readFileSync(join(dir, 'postfix', 'maillog'), 'utf8') }, 'postfix');
  const domainDir = join(dir, 'dovecot', 'mail', 'example.test');
  const seen = new Map();
  const head = Buffer.alloc(4096);
  return {
    smtpPort,
    imapPort: dovecot.imapPort,
    procs: () => ({ Postfix: postfix.masterPid(), Dovecot: dovecot.child.pid }),
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
            let n;
            let mtimeMs;
            try {
              const fd = openSync(file, 'r');
              try {
                n = readSync(fd, head, 0, head.length, 0);
                mtimeMs = statSync(file).mtimeMs;
              } finally {
                closeSync(fd);
              }
            } catch {
              continue; // moved from new/ to cur/ meanwhile: found there next time
            }
            const m = /Message-ID: <([^@>]+)@bench\.load>/.exec(head.subarray(0, n).toString('latin1'));
            if (!m) continue;
            seen.set(`f:${f}`, true);
            if (!seen.has(m[1])) seen.set(m[1], mtimeMs);
          }
        }
      }
      return seen;
    },
    key: (a) => a.id,
    async stop() {
      await postfix.stop();
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
    await sleep(200);
  }
}

/** Waits until the watchers have seen every message of sample (a few polls at most once all are
 * stored); returns how many they never saw. */
async function waitSeen(watch, sample, timeoutMs) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (watch.failure) throw new Error(`IMAP watcher failed: ${watch.failure.message ?? watch.failure}`);
    const unseen = sample.filter((a) => !watch.seen.has(a.id)).length;
    if (unseen === 0 || Date.now() > until) return unseen;
    await sleep(50);
  }
}

function lags(accepted, timeOf) {
  return accepted
    .map((a) => timeOf(a))
    .map((t, i) => (t === undefined ? undefined : Math.max(0, t - accepted[i].t)))
    .filter((x) => x !== undefined)
    .sort((x, y) => x - y);
}

function stats(sorted) {
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.length ? sorted[sorted.length - 1] : NaN };
}

const ms = (s) => `${fmt(s.p50)} / ${fmt(s.p99)}`;

/** One server's rounds together: rates over all rounds' messages and time, latency samples
 * pooled, CPU per message over all rounds, the round-by-round end-to-end rates beside. */
function combine(rounds) {
  const sum = (f) => rounds.reduce((a, r) => a + f(r), 0);
  const pool = (f) => rounds.flatMap(f).sort((x, y) => x - y);
  const accepted = sum((r) => r.accepted);
  const perMsg = {};
  for (const k of Object.keys(rounds[0].cpu.perMsg)) perMsg[k] = sum((r) => r.cpu.perMsg[k] * r.accepted) / accepted;
  return {
    name: rounds[0].name,
    rounds: rounds.length,
    e2eRounds: rounds.map((r) => r.e2e),
    all250: sum((r) => r.all250),
    inImap: sum((r) => r.inImap),
    accepted,
    acceptRate: accepted / sum((r) => r.peakElapsedS),
    e2e: accepted / sum((r) => r.drainS),
    drainS: sum((r) => r.drainS) / rounds.length,
    peakImap: stats(pool((r) => r.peakImap)),
    peakStored: stats(pool((r) => r.peakStored)),
    halfRate: sum((r) => r.halfAccepted) / sum((r) => r.halfElapsedS),
    halfImap: stats(pool((r) => r.halfImap)),
    halfStored: stats(pool((r) => r.halfStored)),
    refused: sum((r) => r.refused),
    errors: sum((r) => r.errors),
    missing: sum((r) => r.missing),
    unseen: sum((r) => r.unseen),
    ok: rounds.every((r) => r.ok),
    cpu: {
      perMsg,
      total: sum((r) => r.cpu.total * r.accepted) / accepted,
      generator: sum((r) => r.cpu.generator * r.accepted) / accepted,
      busyPercent: sum((r) => r.cpu.busyPercent * r.cpu.seconds) / sum((r) => r.cpu.seconds),
      otherPercent: sum((r) => r.cpu.otherPercent * r.cpu.seconds) / sum((r) => r.cpu.seconds),
    },
    quietBefore: rounds.map((r) => r.quietBefore),
  };
}

/** CPU time so far of each server process tree, of this process, and of the machine. */
function cpuNow(stack) {
  const u = process.cpuUsage();
  return {
    t: Date.now(),
    procs: Object.fromEntries(Object.entries(stack.procs()).map(([k, pid]) => [k, pid > 0 ? treeCpuMs(pid) : NaN])),
    self: (u.user + u.system) / 1000,
    machine: machineCpu(),
  };
}

/** CPU ms per message of each server (and in all), of the load generator, machine busy %. */
function cpuSince(a, b, messages) {
  const perMsg = {};
  let total = 0;
  for (const k of Object.keys(b.procs)) {
    perMsg[k] = (b.procs[k] - a.procs[k]) / messages;
    total += perMsg[k];
  }
  const ticks = b.machine.total - a.machine.total;
  const seconds = (b.t - a.t) / 1000;
  // Busy time of all cores that was neither these servers nor this process: kernel threads
  // doing their I/O, and anything else running on the machine.
  const busyMs = ((b.machine.busy - a.machine.busy) * 1000) / CLK_TCK;
  const otherMs = busyMs - total * messages - (b.self - a.self);
  return {
    perMsg,
    total,
    generator: (b.self - a.self) / messages,
    busyPercent: ticks > 0 ? ((b.machine.busy - a.machine.busy) / ticks) * 100 : NaN,
    otherPercent: (otherMs / (seconds * 1000 * availableParallelism())) * 100,
    seconds,
  };
}

async function measure(name, stack) {
  const runId = `${name}${Date.now().toString(36)}`;
  const watchedSet = new Set(watched);
  const sampleOf = (accepted) => accepted.filter((a) => watchedSet.has(a.to));
  const watch = await watchInboxes({ port: stack.imapPort, users: watched, password: PASSWORD, pollMs: cfg.pollMs });
  try {
    log(`  ${name}: warm-up ${cfg.warmupMs / 1000} s (${watched.length} users watched over IMAP, NOOP every ${cfg.pollMs} ms)`);
    const warm = await smtpLoad({ port: stack.smtpPort, sessions: cfg.sessions, users, size: cfg.size, durationMs: cfg.warmupMs, rate: 0, runId: `${runId}w` });
    const w = await waitStored(stack, warm.accepted, 60000);
    const wUnseen = await waitSeen(watch, sampleOf(warm.accepted), 10000);

    log(`  ${name}: peak, ${cfg.sessions} sessions for ${cfg.durationMs / 1000} s`);
    const c0 = cpuNow(stack);
    const t0 = Date.now();
    const peak = await smtpLoad({ port: stack.smtpPort, sessions: cfg.sessions, users, size: cfg.size, durationMs: cfg.durationMs, rate: 0, runId: `${runId}p` });
    const p = await waitStored(stack, peak.accepted, 180000);
    const cpu = cpuSince(c0, cpuNow(stack), peak.accepted.length);
    const pUnseen = await waitSeen(watch, sampleOf(peak.accepted), 10000);
    const lastStored = Math.max(...peak.accepted.map((a) => p.stored.get(stack.key(a)) ?? 0));
    const e2e = peak.accepted.length / ((lastStored - t0) / 1000);
    const half = e2e / 2;
    log(`  ${name}: ${fmt(peak.accepted.length / (peak.elapsedMs / 1000))} accepted/s, ${fmt(e2e)} stored/s end to end (last stored ${fmt((lastStored - t0) / 1000, 1)} s after the start); half rate ${fmt(half)}/s for ${cfg.halfMs / 1000} s`);

    const slow = await smtpLoad({ port: stack.smtpPort, sessions: cfg.sessions, users, size: cfg.size, durationMs: cfg.halfMs, rate: half, runId: `${runId}h` });
    const h = await waitStored(stack, slow.accepted, 120000);
    const hUnseen = await waitSeen(watch, sampleOf(slow.accepted), 10000);
    await watch.stop();

    const all250 = warm.accepted.length + peak.accepted.length + slow.accepted.length;
    const inImap = await countAll({ port: stack.imapPort, users, password: PASSWORD });
    const r = {
      name,
      all250,
      inImap,
      accepted: peak.accepted.length,
      acceptRate: peak.accepted.length / (peak.elapsedMs / 1000),
      e2e,
      drainS: (lastStored - t0) / 1000,
      peakElapsedS: peak.elapsedMs / 1000,
      peakImap: lags(sampleOf(peak.accepted), (a) => watch.seen.get(a.id)),
      peakStored: lags(peak.accepted, (a) => p.stored.get(stack.key(a))),
      halfAccepted: slow.accepted.length,
      halfElapsedS: slow.elapsedMs / 1000,
      halfRate: slow.accepted.length / (slow.elapsedMs / 1000),
      halfImap: lags(sampleOf(slow.accepted), (a) => watch.seen.get(a.id)),
      halfStored: lags(slow.accepted, (a) => h.stored.get(stack.key(a))),
      refused: warm.refused + peak.refused + slow.refused,
      errors: warm.errors + peak.errors + slow.errors,
      missing: w.missing + p.missing + h.missing,
      unseen: wUnseen + pUnseen + hUnseen,
      polls: watch.polls,
      cpu,
    };
    r.ok = r.missing === 0 && r.unseen === 0 && r.inImap >= r.all250;
    log(`  ${name}: CPU ms per message at peak: ${Object.entries(cpu.perMsg).map(([k, v]) => `${k} ${fmt(v, 2)}`).join(', ')}; servers ${fmt(cpu.total, 2)}, load generator ${fmt(cpu.generator, 2)}; machine ${fmt(cpu.busyPercent)}% busy, ${fmt(cpu.otherPercent)}% by others (kernel threads, other processes)`);
    log(
      `  ${name}: 250→visible over IMAP p50/p99 ${ms(stats(r.peakImap))} ms at peak, ${ms(stats(r.halfImap))} ms at half rate; ` +
        `${r.all250} 250s, ${r.missing} not stored, ${r.unseen} of the watched not seen, ${r.inImap} in IMAP STATUS${r.ok ? '' : ' — FAILED'}`,
    );
    return r;
  } finally {
    await watch.stop();
  }
}

function versions() {
  // stdout and stderr both (slapd -VV prints to stderr).
  const run = (cmd, args, re) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return re.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[1] ?? 'unknown';
  };
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const rev = run('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], /(\S+)/);
  const dirty = run('git', ['-C', root, 'status', '--porcelain', '--', 'packages'], /(\S)/) !== 'unknown';
  return {
    tiermail: `${pkg.version} (${rev}${dirty ? ' with uncommitted changes in packages/' : ''})`,
    redis: run('redis-server', ['--version'], /v=(\S+)/),
    slapd: run('/usr/sbin/slapd', ['-VV'], /slapd ([\d.]+)/),
  };
}


function section(results, info) {
  const t = results.find((r) => r.name === 'tiermail');
  const pf = results.find((r) => r.name === 'postfix');
  const found = (r) =>
    r.ok
      ? `yes: ${fmt(r.all250)} 250s, ${fmt(r.inImap)} in IMAP${r.inImap > r.all250 ? ` (**${r.inImap - r.all250} duplicates**)` : ''}`
      : `**NO**: ${fmt(r.all250)} 250s, ${r.missing} not stored, ${r.unseen} watched not seen, ${fmt(r.inImap)} in IMAP`;
  const perRound = (r) => (r.rounds > 1 ? ` (${r.e2eRounds.map((x) => fmt(x)).join(', ')})` : '');
  const rows = results.map((r) => `| ${r.label} | ${fmt(r.acceptRate)} | **${fmt(r.e2e)}**${perRound(r)} | ${ms(r.peakImap)} | ${fmt(r.halfRate)} | **${ms(r.halfImap)}** | ${found(r)} |`);
  const cpuText = (c) => `${fmt(c.total, 2)} (${Object.entries(c.perMsg).map(([k, v]) => `${k} ${fmt(v, 2)}`).join(', ')})`;
  const rows2 = results.map(
    (r) => `| ${r.label} | ${ms(r.peakStored)} | ${ms(r.halfStored)} | ${fmt(r.drainS, 1)} | ${cpuText(r.cpu)} | ${fmt(r.cpu.busyPercent)}% (${fmt(r.cpu.otherPercent)}%) | ${fmt(r.peakImap.n)} / ${fmt(r.halfImap.n)} | ${r.refused} / ${r.errors} |`,
  );
  const ratio = t && pf ? t.e2e / pf.e2e : NaN;
  const verdict = (ok) => (ok ? 'met' : '**not met**');
  const targets = [];
  if (t && pf) targets.push(`end to end, tiermail / Postfix+Dovecot = **${ratio.toFixed(2)}x** (target at least 1.5x: ${verdict(ratio >= 1.5)})`);
  if (t) targets.push(`tiermail p99 250→visible at half the peak rate = **${fmt(t.halfImap.p99)} ms** (target under 1000 ms: ${verdict(t.halfImap.p99 < 1000)})`);
  const failing = results.filter((r) => !r.ok).map((r) => r.label);
  return `### Relay: SMTP in, visible over IMAP

Run ${info.date} on ${info.machine.cores} cores (${info.machine.cpu}), ${info.machine.memoryGiB} GiB, ${info.machine.os}, Node ${info.machine.node}; data on ${info.fs}.
Versions: tiermail ${info.v.tiermail}, redis-server ${info.v.redis}, slapd ${info.v.slapd}; Postfix ${info.postfix}, Dovecot ${info.dovecot}.
Settings: ${cfg.sessions} SMTP sessions, ${cfg.size}-byte messages to ${cfg.users} users round-robin, ${cfg.warmupMs / 1000} s warm-up, ${cfg.durationMs / 1000} s at peak
(as fast as accepted), then ${cfg.halfMs / 1000} s at half the end-to-end peak rate; ${watched.length} users watched over IMAP
(NOOP every ${cfg.pollMs} ms); ${cfg.rounds} round${cfg.rounds > 1 ? 's' : ''} per server, interleaved, each on fresh servers and data, pooled below
(end-to-end rate of each round in brackets). tiermail: relay and store with their default worker counts, LMTP channel
concurrency 40, 20 connections per store. Postfix and Dovecot: defaults but for the private
directories and ports (Dovecot maildir). Command: \`npm run bench -- relay\`.

| server | accepted/s | delivered/s end to end | peak: 250→visible p50 / p99 ms | half rate msgs/s | half rate: 250→visible p50 / p99 ms | every 250 delivered |
|---|---|---|---|---|---|---|
${rows.join('\n')}

${targets.map((x) => `- ${x}`).join('\n')}${failing.length ? `\n- **FAILING** (a 250 not delivered): ${failing.join(', ')}` : ''}

Every message, 250→stored from the servers' own records (tiermail: the store's S record;
Dovecot: the maildir file's mtime); server CPU per message over the peak phase (from its start
until its last message was stored; each server's processes with their children); how busy the
machine's cores were meanwhile, in brackets the part that was neither the servers nor the load
generator (kernel threads doing the I/O, and anything else running on the machine); the IMAP
sample sizes:

| server | 250→stored at peak, p50 / p99 ms | at half rate, p50 / p99 ms | last peak message stored after (s) | server CPU ms per message at peak | machine busy (others) | IMAP sample, peak / half | refused / broken sessions |
|---|---|---|---|---|---|---|---|
${rows2.join('\n')}

Before each run the script waited (up to ${cfg.quietWaitMs / 1000} s) for a second with the cores under 25% busy; they were
${results.map((r) => `${r.label}: ${r.quietBefore.map((x) => `${fmt(x)}%`).join(', ')}`).join('; ')} busy in that last second.`;
}

async function main() {
  const info = { date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), machine: machine(), fs: fileSystemOf(tmpdir()), v: versions() };
  if (cfg.only.includes('postfix')) {
    ensureDovecot({ imap: true });
    ensurePostfix();
  }
  info.postfix = postfixVersion();
  info.dovecot = dovecotVersion();
  log(`relay bench: ${info.machine.cores} cores, Node ${info.machine.node}, tiermail ${info.v.tiermail}, Postfix ${info.postfix}, Dovecot ${info.dovecot}`);
  const sides = [
    { name: 'tiermail', label: 'tiermail relay → store', start: startTiermailStack },
    { name: 'postfix', label: 'Postfix → Dovecot', start: startPostfixStack },
  ].filter((x) => cfg.only.includes(x.name));
  const runs = Object.fromEntries(sides.map((x) => [x.name, []]));
  // Rounds interleaved (tiermail, Postfix, tiermail, ...), each on fresh servers and data, so
  // that a slow spell of the machine does not land on one side only.
  for (let round = 1; round <= cfg.rounds; round++) {
    for (const side of sides) {
      // Not on top of someone else's work, if it can be helped (bounded wait).
      const quiet = await waitQuiet({ maxMs: cfg.quietWaitMs, busyPercent: 25 });
      log(`round ${round}/${cfg.rounds}: ${side.label} (machine ${fmt(quiet)}% busy before, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')})`);
      const dir = newDir(side.name === 'tiermail' ? 'tm' : 'pf');
      const stack = await side.start(dir);
      try {
        runs[side.name].push({ ...(await measure(side.name, stack)), quietBefore: quiet });
      } finally {
        await stack.stop();
      }
      if (!o.keep) {
        untrackDir(dir);
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  const results = sides.map((x) => ({ ...combine(runs[x.name]), label: x.label }));
  const text = section(results, info);
  log(`\n${text}\n`);
  const full = cfg.only.includes('tiermail') && cfg.only.includes('postfix') && !o['cpu-prof'];
  // A full run is written whatever it found, failures included (marked in the table).
  if (!o['no-write'] && full) writeSection(DOC, 'relay', text);
  if (results.some((r) => !r.ok)) process.exitCode = 1;
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    process.stderr.write(`relay bench: ${err.stack ?? err}\n`);
    process.exit(1);
  },
);
