#!/usr/bin/env node
// `npm run bench -- mmp`: what the MMP costs. One tiermail store (with slapd and the benchmark
// users) and one MMP in front of it; the same loads as the IMAP bench run against the store
// directly and through the MMP (logins per second, command latencies), then N idle logged-in
// connections are held through the MMP and the MMP's memory is measured (every process of it:
// primary and workers). Results in docs/benchmarks.md. Target of the issue: under 1 GiB for
// 10,000 idle proxied connections.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
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
    messages: { type: 'string', default: '20' },
    clients: { type: 'string', default: '20' },
    duration: { type: 'string', default: '10' },
    idle: { type: 'string', default: '10000' },
    quick: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (o.help) {
  process.stdout.write(`npm run bench -- mmp [options]
  --users N, --messages N, --clients N, --duration S   as the imap bench (100, 20, 20, 10)
  --idle N       idle logged-in connections held through the MMP (10000)
  --quick        a short smoke run, never written
  --no-write     do not update docs/benchmarks.md
`);
  process.exit(0);
}
const quick = o.quick;
const cfg = {
  users: quick ? 10 : Number(o.users),
  messages: quick ? 5 : Number(o.messages),
  clients: quick ? 5 : Number(o.clients),
  durationMs: (quick ? 3 : Number(o.duration)) * 1000,
  idle: quick ? 500 : Number(o.idle),
};
const PASSWORD = 'bench-password';
const users = Array.from({ length: cfg.users }, (_, i) => `u${i + 1}@example.test`);
const log = (m) => process.stdout.write(`${m}\n`);
guard();
const b = imapBench({ cfg, users, password: PASSWORD, core, root, cpuProf: '' });

async function startMmp(dir, ldapUrl, store) {
  const imapPort = await b.freePort();
  const config = {
    deployment: { postmaster: 'postmaster@example.test' },
    hosts: { store1: { roles: ['store'], address: '127.0.0.1', overrides: { store: { imap: { port: store.imapPort } } } }, mmp1: { roles: ['mmp'], address: '127.0.0.1' } },
    directory: { urls: [ldapUrl.replace(/\/$/, '')], baseDn: 'o=tiermail', bindDn: 'cn=admin,o=tiermail', bindPassword: 'bench-admin', defaultDomain: 'example.test' },
    redis: { mode: 'single', host: '127.0.0.1', port: 1, keyPrefix: 'tmbench:' },
    paths: { var: join(dir, 'var'), log: join(dir, 'log'), run: join(dir, 'run') },
    log: { level: 'warn' },
    metrics: { enabled: false },
    mmp: {
      imap: { host: '127.0.0.1', port: imapPort },
      pop3: null,
      submission: null,
      proxyAdmin: { user: 'mmp-proxy', password: 'demo-proxy-password' },
      plaintextAuth: 'always',
      maxConnectionsPerIp: 0,
      workers: availableParallelism(),
    },
  };
  writeFileSync(join(dir, 'mmp.yaml'), JSON.stringify(config, null, 2));
  const child = start(process.execPath, [join(root, 'packages', 'mmp', 'dist', 'main.js'), '-c', join(dir, 'mmp.yaml'), '--host', 'mmp1'], { cwd: dir });
  await b.waitBanner(imapPort, child, 'mmp', '* OK');
  return { imapPort, child, stop: () => stop(child, 10000) };
}

const base = mkdtempSync(join(tmpdir(), 'tm-bench-mmp-'));
chmodSync(base, 0o755);
trackDir(base);
let result;
try {
  const slapd = await b.startSlapd(base);
  const dir = join(base, 'store');
  mkdirSync(dir, { recursive: true });
  const store = await b.startTiermail(dir, availableParallelism(), slapd.url);
  // The store must trust the MMP's proxy logins (the demo data has the mmp-proxy admin).
  const mmpDir = join(base, 'mmp');
  mkdirSync(mmpDir, { recursive: true });
  const mmp = await startMmp(mmpDir, slapd.url, store);
  try {
    log(`delivering ${cfg.users * cfg.messages} messages`);
    await b.fill(store.lmtpPort);
    log('direct: logins, commands');
    const direct = { logins: await b.loginLoad(store.imapPort), commands: await b.commandLoad(store.imapPort) };
    log('through the MMP: logins, commands');
    const proxied = { logins: await b.loginLoad(mmp.imapPort), commands: await b.commandLoad(mmp.imapPort) };
    log(`through the MMP: ${cfg.idle} idle connections`);
    const memory = await b.idleMemory(mmp.imapPort, mmp.child.pid);
    result = { direct, proxied, memory, load: loadavg()[0] };
  } finally {
    await mmp.stop();
    await store.stop();
    await stop(slapd.child, 5000);
  }
} finally {
  await cleanup();
  rmSync(base, { recursive: true, force: true });
}

const m = machine();
const ops = ['select', 'fetch-headers', 'fetch-body', 'search', 'store'];
const row = (name, r) =>
  `| ${name} | ${fmt(r.logins.perSec)} | ${fmt(r.logins.p50, 1)} | ${fmt(r.commands.perSec)} | ${ops.map((k) => `${fmt(r.commands.ops[k].p50, 2)} / ${fmt(r.commands.ops[k].p95, 2)}`).join(' | ')} |`;
const added = ops.map((k) => fmt(result.proxied.commands.ops[k].p50 - result.direct.commands.ops[k].p50, 2)).join(' | ');
const text = [
  `Run ${new Date().toISOString().slice(0, 10)} on ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}; ` +
    `${cfg.users} users x ${cfg.messages} messages, ${cfg.clients} clients, ${cfg.durationMs / 1000} s per load; store and MMP with ${availableParallelism()} workers each; load average at the end: ${fmt(result.load, 2)}.`,
  '',
  '| Path | Logins/s | Login p50 ms | Ops/s | SELECT p50/p95 ms | FETCH headers | FETCH body | SEARCH | STORE |',
  '|---|---|---|---|---|---|---|---|---|',
  row('direct to the store', result.direct),
  row('through the MMP', result.proxied),
  `| added by the MMP (p50 ms) | | | | ${added} |`,
  '',
  `Memory of the MMP (all its processes) with ${fmt(cfg.idle)} idle proxied IMAP connections: ${fmt(result.memory.totalMiB)} MiB RSS; ` +
    `${result.memory.perConnKiB < 1 ? 'under 1 KiB' : `${fmt(result.memory.perConnKiB, 1)} KiB`} per connection. Target: under 1 GiB for 10,000.`,
].join('\n');
log(`\n${text}\n`);
if (!o['no-write'] && !quick) {
  writeSection(DOC, 'mmp', text);
  log('docs/benchmarks.md updated');
}
