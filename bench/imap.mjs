#!/usr/bin/env node
// `npm run bench -- imap`: IMAP beside Dovecot (Debian dovecot-imapd), same machine, same run,
// same load generator (bench/lib/imap-client.mjs). See docs/benchmarks.md.
//
// Both servers get the same users (u1..uN@example.test) and the same messages, delivered over
// LMTP. Then, for each server: logins per second (20 clients, LOGIN + LOGOUT per connection);
// 20 logged-in clients running SELECT, FETCH of headers of the whole mailbox, FETCH of one
// body, UID SEARCH and UID STORE in turn (operations per second and latencies per command);
// and the memory of N idle logged-in connections (RSS of every server process, per connection).
// Every reply is checked: a NO or BAD, or a FETCH with the wrong number of messages, stops it.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { imapBench } from './lib/imap-bench.mjs';
import { cleanup, guard, start, stop, trackDir } from './lib/procs.mjs';
import { fmt, machine, writeSection } from './lib/report.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const DOC = join(root, 'docs', 'benchmarks.md');
const core = await import(join(root, 'packages', 'core', 'dist', 'index.js'));

const { values: o } = parseArgs({
  options: {
    users: { type: 'string', default: '100' },
    messages: { type: 'string', default: '50' },
    clients: { type: 'string', default: '20' },
    duration: { type: 'string', default: '15' },
    idle: { type: 'string', default: '1000' },
    workers: { type: 'string', default: '' },
    only: { type: 'string', default: '' },
    quick: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string', default: '' },
    'no-write': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (o.help) {
  process.stdout.write(`npm run bench -- imap [options]
  --users N       users on each server (100)
  --messages N    messages per user, delivered by LMTP before measuring (50)
  --clients N     concurrent clients for the login and command loads (20)
  --duration S    seconds of each load (15)
  --idle N        idle logged-in connections for the memory measure (1000; Dovecot runs a process per connection)
  --workers LIST  tiermail store.workers values, e.g. 2,1 (cores, then 1)
  --only LIST     dovecot, tiermail
  --cpu-prof DIR  run the tiermail store with --cpu-prof, profiles into DIR
  --quick         a short smoke run (10 users, 10 messages, 3 s loads, 200 idle), never written
  --no-write      do not update docs/benchmarks.md
  --keep          keep the data directories
`);
  process.exit(0);
}
const quick = o.quick;
const cfg = {
  users: quick ? 10 : Number(o.users),
  messages: quick ? 10 : Number(o.messages),
  clients: quick ? 5 : Number(o.clients),
  durationMs: (quick ? 3 : Number(o.duration)) * 1000,
  idle: quick ? 200 : Number(o.idle),
  workers: (o.workers || `${availableParallelism()},1`).split(',').map(Number).filter((n, i, a) => n > 0 && a.indexOf(n) === i),
  only: o.only ? o.only.split(',') : ['dovecot', 'tiermail'],
};
const PASSWORD = 'bench-password';
const users = Array.from({ length: cfg.users }, (_, i) => `u${i + 1}@example.test`);
const log = (m) => process.stdout.write(`${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
guard();

const { freePort, waitBanner, treeRssKiB, fill, startSlapd, startTiermail, loginLoad, commandLoad, idleMemory } = imapBench({
  cfg,
  users,
  password: PASSWORD,
  core,
  root,
  cpuProf: o['cpu-prof'],
});

// ---------------------------------------------------------------------------------- servers

function ensureDovecot() {
  const have = () => existsSync('/usr/sbin/dovecot') && existsSync('/usr/lib/dovecot/imap') && existsSync('/usr/lib/dovecot/lmtp');
  if (have()) return;
  if (process.getuid?.() !== 0) throw new Error('install dovecot-imapd and dovecot-lmtpd, or run as root');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const pkgs = ['dovecot-core', 'dovecot-imapd', 'dovecot-lmtpd'];
  log(`installing ${pkgs.join(' ')} (apt-get)`);
  let r = spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...pkgs], { env, stdio: 'inherit' });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-q'], { env, stdio: 'inherit' });
    r = spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...pkgs], { env, stdio: 'inherit' });
  }
  if (!have()) throw new Error('apt-get could not install Dovecot');
  if (existsSync('/run/systemd/system')) spawnSync('systemctl', ['disable', '--now', 'dovecot.service', 'dovecot.socket'], { stdio: 'ignore' });
}

async function startDovecot(dir) {
  const [imapPort, lmtpPort] = [await freePort(), await freePort()];
  for (const d of ['run', 'state', 'mail']) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(dir, 0o755);
  const rootUser = process.getuid?.() === 0;
  const mailUser = rootUser ? 'nobody' : execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
  const mailGroup = rootUser ? 'nogroup' : String(process.getgid());
  if (rootUser) chownSync(join(dir, 'mail'), Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' })), Number(execFileSync('getent', ['group', 'nogroup'], { encoding: 'utf8' }).split(':')[2]));
  writeFileSync(join(dir, 'passwd'), users.map((u) => `${u}:{PLAIN}${PASSWORD}\n`).join(''));
  const conf = [
    `instance_name = tiermail-imap-bench-${process.pid}`,
    `base_dir = ${dir}/run`,
    `state_dir = ${dir}/state`,
    'protocols = imap lmtp',
    'listen = 127.0.0.1',
    'ssl = no',
    'disable_plaintext_auth = no',
    `log_path = ${dir}/dovecot.log`,
    'mail_location = maildir:~/Maildir',
    `passdb {\n  driver = passwd-file\n  args = scheme=PLAIN ${dir}/passwd\n}`,
    `userdb {\n  driver = static\n  args = uid=${mailUser} gid=${mailGroup} home=${dir}/mail/%d/%n allow_all_users=yes\n}`,
    `service imap-login {\n  inet_listener imap {\n    address = 127.0.0.1\n    port = ${imapPort}\n  }\n  service_count = 0\n  process_min_avail = ${availableParallelism()}\n  client_limit = ${cfg.idle + 500}\n}`,
    `service imap {\n  process_limit = ${cfg.idle + 500}\n}`,
    `service lmtp {\n  inet_listener lmtp {\n    address = 127.0.0.1\n    port = ${lmtpPort}\n  }\n}`,
    `default_process_limit = ${cfg.idle + 500}`,
    `default_client_limit = ${cfg.idle * 2 + 1000}`,
    `protocol imap {\n  mail_max_userip_connections = ${cfg.idle + 100}\n}`,
    ...(rootUser ? [] : [`default_internal_user = ${mailUser}`, `default_login_user = ${mailUser}`]),
    '',
  ].join('\n');
  writeFileSync(join(dir, 'dovecot.conf'), conf);
  const child = start('/usr/sbin/dovecot', ['-F', '-c', join(dir, 'dovecot.conf')]);
  await waitBanner(imapPort, child, 'dovecot', '* OK');
  return { name: 'dovecot', imapPort, lmtpPort, child, stop: () => stop(child, 10000) };
}

// ------------------------------------------------------------------------------------- main

const results = [];
const base = mkdtempSync(join(tmpdir(), 'tm-bench-imap-'));
// Dovecot's unprivileged processes must be able to walk into it.
chmodSync(base, 0o755);
if (!o.keep) trackDir(base);
try {
  if (cfg.only.includes('dovecot')) ensureDovecot();
  const runs = [...(cfg.only.includes('dovecot') ? [null] : []), ...(cfg.only.includes('tiermail') ? cfg.workers : [])];
  let slapd = null;
  for (const w of runs) {
    const dir = join(base, w === null ? 'dovecot' : `tiermail-${w}`);
    mkdirSync(dir, { recursive: true });
    if (w !== null && !slapd) slapd = await startSlapd(base);
    const server = w === null ? await startDovecot(dir) : await startTiermail(dir, w, slapd.url);
    try {
      log(`${server.name}: delivering ${cfg.users * cfg.messages} messages`);
      await fill(server.lmtpPort);
      log(`${server.name}: logins`);
      const logins = await loginLoad(server.imapPort);
      log(`${server.name}: commands`);
      const commands = await commandLoad(server.imapPort);
      log(`${server.name}: ${cfg.idle} idle connections`);
      const memory = await idleMemory(server.imapPort, server.child.pid);
      results.push({ name: server.name, logins, commands, memory, load: loadavg()[0] });
      log(`  logins/s ${fmt(logins.perSec)}, ops/s ${fmt(commands.perSec)}, ${fmt(memory.perConnKiB)} KiB per idle connection`);
    } finally {
      await server.stop();
    }
  }
  if (slapd) await stop(slapd.child, 5000);
} finally {
  await cleanup();
  if (!o.keep) rmSync(base, { recursive: true, force: true });
}

const dove = results.find((r) => r.name === 'dovecot');
const ratio = (a, b, higherBetter = true) => (dove && a && b ? `${fmt(higherBetter ? a / b : b / a, 2)}x` : '-');
const m = machine();
const rows = [
  '| Server | Logins/s | Login p50 ms | Ops/s (20 clients) | SELECT p50/p95 | FETCH headers p50/p95 | FETCH body p50/p95 | SEARCH p50/p95 | STORE p50/p95 | KiB per idle connection | RSS with all idle connections open |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
  ...results.map((r) => {
    const op = (k) => `${fmt(r.commands.ops[k].p50, 1)} / ${fmt(r.commands.ops[k].p95, 1)}`;
    // Below ~1 KiB per connection the difference is within the noise of RSS (garbage collection).
    const per = r.memory.perConnKiB < 1 ? '< 1 (within RSS noise)' : fmt(r.memory.perConnKiB);
    return `| ${r.name} | ${fmt(r.logins.perSec)} | ${fmt(r.logins.p50, 1)} | ${fmt(r.commands.perSec)} | ${op('select')} | ${op('fetch-headers')} | ${op('fetch-body')} | ${op('search')} | ${op('store')} | ${per} | ${fmt(r.memory.totalMiB)} MiB |`;
  }),
  ...(dove
    ? results
        .filter((r) => r !== dove)
        .map(
          (r) =>
            `| ratio ${r.name} / dovecot | ${ratio(r.logins.perSec, dove.logins.perSec)} | | ${ratio(r.commands.perSec, dove.commands.perSec)} | | | | | | ${
              r.memory.perConnKiB < 1 ? `over ${fmt(dove.memory.perConnKiB)}x less` : `${fmt(dove.memory.perConnKiB / r.memory.perConnKiB)}x less`
            } | ${fmt(dove.memory.totalMiB / r.memory.totalMiB, 1)}x less |`,
        )
    : []),
];
const text = [
  `Run ${new Date().toISOString().slice(0, 10)} on ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}; ` +
    `${cfg.users} users x ${cfg.messages} messages, ${cfg.clients} clients, ${cfg.durationMs / 1000} s per load, ${cfg.idle} idle connections; ` +
    `load average at the end of each server's run: ${results.map((r) => `${r.name} ${fmt(r.load, 2)}`).join(', ')}.`,
  '',
  ...rows,
].join('\n');
log(`\n${text}\n`);
if (!o['no-write'] && !quick && dove && results.length > 1) {
  writeSection(DOC, 'imap', text);
  log('docs/benchmarks.md updated');
}
