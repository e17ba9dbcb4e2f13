#!/usr/bin/env node
// The local stack (`npm start`): the watcher in the foreground runs slapd and redis-server in
// ./var with the demo domain, then the store, relay and MMP, on the DESIGN ports, and probes and
// restarts all of them; Ctrl-C stops everything (the watcher drains the tiers, then the daemons).
// slapd and redis-server are given to the watcher as watcher.daemons (TIERMAIL_WATCHER__DAEMONS).
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../packages/core/dist/config/index.js';
import { initSlapdDirectory, slapdArgs, locateSlapd } from '../../packages/core/dist/slapd/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const varDir = join(root, 'var');
const configFile = join(varDir, 'tiermail.yaml');

function say(msg) {
  process.stdout.write(`local: ${msg}\n`);
}

mkdirSync(varDir, { recursive: true });
if (!existsSync(configFile)) {
  copyFileSync(join(root, 'deploy', 'config', 'local.yaml'), configFile);
  say(`wrote ${configFile} (edit it or use: npm run tiermail -- config set KEY VALUE)`);
}
let config;
try {
  ({ config } = loadConfig({ file: configFile, host: 'localhost' }));
} catch (err) {
  process.stderr.write(`local: ${err.message}\n`);
  process.exit(1);
}

const ldapUrl = new URL(config.directory.urls[0]);
const ldapPort = Number(ldapUrl.port || 389);
const redisPort = config.redis.mode === 'single' ? config.redis.port : 6390;

function portInUse(port) {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function waitPort(name, port, child, ms = 20000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} before listening on ${port}`);
    if (await portInUse(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not listen on ${port} within ${ms} ms`);
}

const imapPort = config.store.imap?.port;
const checks = [['slapd', ldapPort], ['redis-server', redisPort], ['store LMTP', config.store.lmtp.port], ['relay SMTP', config.relay.smtp.port]];
if (imapPort) checks.push(['store IMAP', imapPort]);
const pop3Port = config.store.pop3?.port;
const mmpPort = config.mmp.imap?.port;
if (mmpPort) checks.push(['MMP IMAP', mmpPort]);
const mmpPop3Port = config.mmp.pop3?.port;
if (mmpPop3Port) checks.push(['MMP POP3', mmpPop3Port]);
const submissionPort = config.mmp.submission?.port;
if (submissionPort) checks.push(['MMP submission', submissionPort]);
const relaySubmissionPort = config.relay.submission?.port;
if (relaySubmissionPort) checks.push(['relay submission', relaySubmissionPort]);
if (pop3Port) checks.push(['store POP3', pop3Port]);
checks.push(['watcher', config.watcher.listen.port]);
for (const [name, port] of checks) {
  if (await portInUse(port)) {
    process.stderr.write(`local: port ${port} (${name}) is in use: is another local stack running? Stop it first.\n`);
    process.exit(1);
  }
}

const children = [];
let stopping = false;

function start(name, cmd, args, env = process.env) {
  // Own process groups: Ctrl-C reaches this script only, which then stops them in order.
  const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], detached: true, env });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`local: ${name} stopped unexpectedly (${signal ?? `exit ${code}`}); stopping the stack\n`);
      void stopAll(1);
    }
  });
  children.push({ name, child });
  return child;
}

async function stopAll(code = 0) {
  if (stopping) return;
  stopping = true;
  say('stopping');
  // One after the other, last started first: the watcher drains the services while Redis and
  // the directory are still there for them.
  for (const { child } of [...children].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  say('stopped');
  process.exit(code);
}

process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

// Directory: built once with slapadd (schema + demo data), then reused.
const ldapDir = join(varDir, 'ldap');
const binaries = locateSlapd();
if (!existsSync(join(ldapDir, 'slapd.d'))) {
  say('creating the directory with the demo domain example.test');
  await initSlapdDirectory({
    dir: ldapDir,
    suffix: config.directory.baseDn,
    rootDn: config.directory.bindDn,
    rootPassword: config.directory.bindPassword,
    demo: { mailHost: 'localhost' },
    binaries,
  });
}
const redisDir = join(varDir, 'redis');
mkdirSync(redisDir, { recursive: true });
const daemons = [
  {
    name: 'slapd',
    command: binaries.slapd,
    // slapdArgs keeps slapd in the foreground (-d), as the watcher needs.
    args: slapdArgs({ confDir: join(ldapDir, 'slapd.d') }, [`ldap://127.0.0.1:${ldapPort}/`]),
    probe: { kind: 'ldap', host: '127.0.0.1', port: ldapPort },
  },
  {
    name: 'redis',
    command: 'redis-server',
    args: ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', redisDir, '--appendonly', 'yes', '--save', '', '--daemonize', 'no', '--loglevel', 'warning'],
    probe: { kind: 'redis', host: '127.0.0.1', port: redisPort },
  },
];

try {
  // The watcher starts slapd and redis-server, then the store, the relay and the MMP, each once
  // the one before answers; it probes and restarts them, and stops them in reverse order when
  // it is stopped (Ctrl-C here).
  const watcher = start('watcher', process.execPath, [join(root, 'packages', 'watcher', 'dist', 'main.js'), '-c', configFile, '--host', 'localhost'], {
    ...process.env,
    TIERMAIL_WATCHER__DAEMONS: JSON.stringify(daemons),
  });
  await waitPort('slapd', ldapPort, watcher);
  await waitPort('redis-server', redisPort, watcher);
  await waitPort('store (LMTP)', config.store.lmtp.port, watcher);
  if (imapPort) await waitPort('store (IMAP)', imapPort, watcher);
  if (mmpPort) await waitPort('mmp (IMAP)', mmpPort, watcher);
  await waitPort('relay (SMTP)', config.relay.smtp.port, watcher);
} catch (err) {
  process.stderr.write(`local: ${err.message}\n`);
  await stopAll(1);
}

say('up. Services:');
const rows = [
  ['slapd (directory)', `ldap://127.0.0.1:${ldapPort}`, `${config.directory.bindDn} / ${config.directory.bindPassword}`],
  ['redis-server', `127.0.0.1:${redisPort}`, 'AOF in var/redis'],
  ['relay SMTP', `127.0.0.1:${config.relay.smtp.port}`, `spool in var/${config.relay.spool}, queue in redis`],
  ...(relaySubmissionPort ? [['relay submission', `127.0.0.1:${relaySubmissionPort}`, 'AUTH required (alice / demo-password)']] : []),
  ['store LMTP', `127.0.0.1:${config.store.lmtp.port}`, `mailboxes in ${config.store.partitions.primary?.path ?? 'var/store'}`],
  ...(imapPort ? [['store IMAP', `127.0.0.1:${imapPort}`, 'LOGIN alice demo-password']] : []),
  ...(pop3Port ? [['store POP3', `127.0.0.1:${pop3Port}`, 'USER alice / PASS demo-password']] : []),
  ...(mmpPort ? [['MMP IMAP proxy', `127.0.0.1:${mmpPort}`, 'what clients use: logs in, splices to the store']] : []),
  ...(mmpPop3Port ? [['MMP POP3 proxy', `127.0.0.1:${mmpPop3Port}`, 'the same for POP3']] : []),
  ...(submissionPort ? [['MMP submission', `127.0.0.1:${submissionPort}`, 'AUTH required, hands mail to the relay']] : []),
  ['watcher', `http://${config.watcher.listen.host}:${config.watcher.listen.port}/`, 'status page; npm run tiermail -- status'],
];
for (const [name, where, note] of rows) process.stdout.write(`  ${name.padEnd(20)} ${where.padEnd(28)} ${note}\n`);
process.stdout.write(
  [
    '',
    'Demo domain example.test: alice@example.test and bob@example.test, password demo-password;',
    'group staff@example.test. Try:',
    '  npm run tiermail -- user show alice@example.test',
    '  npm run tiermail -- user add carol@example.test --password-stdin <<< "carol-password"',
    'Send a first message through the relay (SMTP), then read it over IMAP through the MMP:',
    // The pauses matter: the relay refuses clients that talk before its banner (421).
    `  (exec 3<>/dev/tcp/127.0.0.1/${config.relay.smtp.port}; sleep 1; printf 'EHLO me\\r\\nMAIL FROM:<x@example.org>\\r\\nRCPT TO:<alice@example.test>\\r\\nDATA\\r\\n' >&3; sleep 1; printf 'Subject: hi\\r\\n\\r\\nhello\\r\\n.\\r\\nQUIT\\r\\n' >&3; timeout 2 cat <&3)`,
    `  printf 'a LOGIN alice demo-password\\r\\nb SELECT INBOX\\r\\nc FETCH 1:* (FLAGS BODY[HEADER.FIELDS (SUBJECT)])\\r\\nd LOGOUT\\r\\n' | (exec 3<>/dev/tcp/127.0.0.1/${mmpPort ?? imapPort ?? 3143}; sleep 1; cat >&3; timeout 2 cat <&3)`,
    '  npm run tiermail -- store mailbox list alice',
    'Any IMAP client works too (host 127.0.0.1, port above, no TLS in the local stack).',
    'The watcher restarts a service that dies; see its page above or: npm run tiermail -- status',
    'Ctrl-C stops everything.',
    '',
  ].join('\n'),
);
