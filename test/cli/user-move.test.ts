// `tiermail user move` live, as the acceptance asks: alice moves from store1 to store2
// while a client is in IDLE on store1 and mail arrives every 100 ms through the relay. After
// the move every message is on store2 exactly once (flags kept), none on store1, the IDLE
// client was told to go, and a client logging in through the MMP lands on store2. Real slapd,
// redis-server, two stores, a relay and an MMP; the move talks to them over the network only.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { stringify } from 'yaml';
import { configSchema, type Config } from '@tiermail/core';
import { startMmpService, type MmpService } from '@tiermail/mmp';
import { runCli } from '../harness/cli.js';
import { startRedis, type RedisHandle } from '../harness/redis.js';
import { startRelay, type RelayHandle } from '../harness/relay.js';
import { startSlapd, type SlapdHandle } from '../harness/slapd.js';
import { startStore, type StoreHandle } from '../harness/store.js';
import { inbox, queueIdOf, transport, waitFor } from '../mta/helpers.js';

let slapd: SlapdHandle;
let redis: RedisHandle;
let storeA: StoreHandle;
let storeB: StoreHandle;
let relay: RelayHandle;
let mmp: MmpService;
let configFile: string;
const proxyAuth = { proxyAuth: { admins: ['mmp-proxy'], trustedNetworks: ['127.0.0.1/32'] } };

function deployment(): Record<string, unknown> {
  return {
    deployment: { postmaster: 'postmaster@example.test' },
    hosts: {
      store1: { roles: ['store'], address: '127.0.0.1', overrides: { store: { imap: { port: storeA.imapPort }, lmtp: { port: storeA.port } } } },
      store2: { roles: ['store'], address: '127.0.0.1', overrides: { store: { imap: { port: storeB.imapPort }, lmtp: { port: storeB.port } } } },
      mmp1: { roles: ['mmp'], address: '127.0.0.1' },
    },
    // A long cache: the MMP must learn of the move through Redis, not by the entry expiring.
    directory: { urls: [slapd.url], baseDn: slapd.suffix, bindDn: slapd.adminDn, bindPassword: slapd.adminPassword, defaultDomain: 'example.test', cache: { ttlMs: 600000 } },
    redis: { mode: 'single', host: '127.0.0.1', port: redis.port, keyPrefix: 'tmtest:' },
    log: { level: 'silent' },
    mmp: { imap: { host: '127.0.0.1', port: 0 }, pop3: null, submission: null, proxyAdmin: { user: 'mmp-proxy', password: 'demo-proxy-password' }, connectTimeoutMs: 2000 },
  };
}

before(async () => {
  [slapd, redis] = await Promise.all([startSlapd({ demo: true, mailHost: 'store1' }), startRedis()]);
  [storeA, storeB] = await Promise.all([
    startStore({ workers: 1, redisPort: redis.port, ldapUrl: slapd.url, store: proxyAuth }),
    startStore({ workers: 1, redisPort: redis.port, ldapUrl: slapd.url, store: proxyAuth, host: 'store2' }),
  ]);
  relay = await startRelay({
    ldapUrl: slapd.url,
    redisPort: redis.port,
    storePort: storeA.port,
    hosts: { store2: { roles: ['store'], address: '127.0.0.1', overrides: { store: { lmtp: { port: storeB.port } } } } },
    relay: { channels: { lmtp: { retrySeconds: [1] } } },
  });
  const config: Config = configSchema.parse(deployment());
  mmp = await startMmpService({ config, host: 'mmp1' });
  const dir = mkdtempSync(join(tmpdir(), 'tm-move-'));
  configFile = join(dir, 'tiermail.yaml');
  writeFileSync(configFile, stringify({ ...deployment(), paths: { var: join(dir, 'var'), log: join(dir, 'log'), run: join(dir, 'run') } }));
});
after(async () => {
  await mmp?.stop(500);
  await relay?.stop().catch(() => undefined);
  await relay?.cleanup();
  for (const s of [storeA, storeB]) {
    await s?.stop().catch(() => undefined);
    await s?.cleanup();
  }
  await redis?.stop();
  await slapd?.stop();
});

const send = async (subject: string): Promise<string> =>
  queueIdOf((await transport(relay.port).sendMail({ from: 'sender@example.org', to: 'alice@example.test', subject, text: subject })).response);

const subjects = (store: StoreHandle): string[] =>
  inbox(store, 'alice@example.test').map((m) => /^Subject: (.*)\r?$/m.exec(m.text)?.[1] ?? '');

test('alice moves from store1 to store2 under IDLE and steady mail: every message once on store2, none on store1, the MMP sends her to store2', async () => {
  for (let i = 0; i < 5; i += 1) await send(`before ${i}`);
  await waitFor('the first five on store1', () => subjects(storeA).filter((s) => s.startsWith('before ')).length === 5);
  // A client on store1: one message flagged, then IDLE.
  const idle = new ImapFlow({ host: '127.0.0.1', port: storeA.imapPort, secure: false, auth: { user: 'alice@example.test', pass: 'demo-password' }, logger: false });
  await idle.connect();
  await idle.mailboxOpen('INBOX');
  await idle.messageFlagsAdd({ header: { subject: 'before 2' } }, ['\\Flagged']);
  let told = false;
  idle.on('close', () => (told = true));
  void idle.idle().catch(() => undefined);

  // Mail every 100 ms through the relay, during the whole move.
  const sent: string[] = [];
  let sending = true;
  const sender = (async () => {
    for (let i = 0; sending; i += 1) {
      const subject = `during ${i}`;
      await send(subject);
      sent.push(subject);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  await new Promise((r) => setTimeout(r, 700));
  const moved = await runCli(['-c', configFile, '--json', 'user', 'move', 'alice@example.test', '--to', 'store2']);
  assert.equal(moved.code, 0, moved.stderr);
  const report = JSON.parse(moved.stdout) as { from: string; to: string; messages: number };
  assert.equal(report.from, 'store1');
  assert.equal(report.to, 'store2');
  await new Promise((r) => setTimeout(r, 700));
  sending = false;
  await sender;

  const expected = [...Array.from({ length: 5 }, (_, i) => `before ${i}`), ...sent];
  await waitFor('every message on store2', () => expected.every((s) => subjects(storeB).includes(s)), 30000).catch((err: unknown) => {
    const missing = expected.filter((x) => !subjects(storeB).includes(x));
    process.stdout.write(`# missing: ${missing.join(', ')}\n# on A: ${subjects(storeA).join(', ')}\n# stderr: ${moved.stderr}\n`);
    for (const r of relay.mailLog().filter((x) => x.to === 'alice@example.test' && x.code !== 'E').slice(-30)) process.stdout.write(`# ${r.time} ${r.code} ${r.queueId} ${r.answer ?? ''} ${r.remote ?? ''}\n`);
    throw err;
  });
  const onB = subjects(storeB);
  const doubled = onB.filter((s, i) => onB.indexOf(s) !== i);
  assert.deepEqual(doubled, [], 'nothing twice on store2');
  assert.deepEqual(subjects(storeA).filter((s) => s.startsWith('before ') || s.startsWith('during ')), [], 'nothing left on store1');
  await waitFor('the IDLE client on store1 told to go', () => told, 10000);

  // Through the MMP: alice lands on store2 (its routing cache was told through Redis), and the
  // flag she set on store1 came along.
  const viaMmp = new ImapFlow({ host: '127.0.0.1', port: mmp.imapPort!, secure: false, auth: { user: 'alice', pass: 'demo-password' }, logger: false });
  await viaMmp.connect();
  try {
    const box = await viaMmp.mailboxOpen('INBOX');
    assert.equal(box.exists, onB.length);
    const flagged: string[] = [];
    for await (const m of viaMmp.fetch('1:*', { envelope: true, flags: true })) if (m.flags?.has('\\Flagged')) flagged.push(m.envelope?.subject ?? '');
    assert.deepEqual(flagged, ['before 2']);
  } finally {
    await viaMmp.logout();
  }
  // Mail that the relay still routed to store1 was redirected by its 423.
  const redirected = relay.mailLog().filter((r) => r.code === 'QL' && /^423 /.test(r.answer ?? ''));
  const deferred = relay.mailLog().filter((r) => r.code === 'QL' && /^451 4\.2\.1 /.test(r.answer ?? ''));
  process.stdout.write(`# move: ${report.messages} copied, ${sent.length} sent during it, ${deferred.length} deferred by the lock, ${redirected.length} redirected by 423\n`);
});
