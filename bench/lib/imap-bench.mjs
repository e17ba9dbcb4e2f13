// The pieces the IMAP and MMP benchmarks share: a slapd with the benchmark users, the
// tiermail store, delivering the same mail to a server over LMTP, and the loads (logins,
// commands, idle connections) with every reply checked.
import { connect, createServer } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchImap, pct } from './imap-client.mjs';
import { freePort } from './net.mjs';
import { descendants, start, stop } from './procs.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** cfg: { users, messages, clients, durationMs, idle }; users: addresses; core: @tiermail/core. */
export function imapBench({ cfg, users, password, core, root, cpuProf }) {


  async function waitBanner(port, child, what, prefix) {
    const until = Date.now() + 30000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${what} exited:\n${child.output()}`);
      const line = await new Promise((resolve) => {
        const s = connect({ port, host: '127.0.0.1' });
        s.setEncoding('latin1');
        s.once('data', (d) => {
          s.destroy();
          resolve(d);
        });
        s.on('error', () => resolve(''));
      });
      if (line.startsWith(prefix)) return;
      if (Date.now() > until) throw new Error(`${what} did not answer on ${port}:\n${child.output()}`);
      await sleep(100);
    }
  }

  /** RSS in KiB of a process and all its descendants. */
  function treeRssKiB(pid) {
    let kib = 0;
    for (const p of [pid, ...descendants(pid)]) {
      try {
        const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
        if (m) kib += Number(m[1]);
      } catch {
        /* gone */
      }
    }
    return kib;
  }

  // ------------------------------------------------------------------------------- the mail

  function message(user, i) {
    const body = `Message ${i} for ${user}.\r\n${'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(8 + (i % 40))}\r\n`;
    return `From: Sender ${i % 7} <s${i % 7}@example.org>\r\nTo: ${user}\r\nSubject: bench message ${i}${i % 5 === 0 ? ' invoice' : ''}\r\nDate: Mon, 1 Jan 2024 10:${String(i % 60).padStart(2, '0')}:00 +0000\r\nMessage-ID: <${i}.${user}@bench>\r\n\r\n${body}`;
  }

  /** Delivers every user's messages over LMTP, 10 connections in parallel. */
  async function fill(port) {
    const jobs = users.map((u) => u);
    const worker = async () => {
      for (let u = jobs.shift(); u; u = jobs.shift()) {
        const s = connect({ port, host: '127.0.0.1' });
        s.setEncoding('latin1');
        let buf = '';
        const lines = [];
        s.on('data', (d) => {
          buf += d;
          let i;
          while ((i = buf.indexOf('\r\n')) >= 0) {
            lines.push(buf.slice(0, i));
            buf = buf.slice(i + 2);
          }
        });
        let closed = false;
        s.on('error', () => undefined);
        s.on('close', () => (closed = true));
        const expect = async (n) => {
          while (lines.filter((l) => /^\d{3} /.test(l)).length < n) {
            if (closed) throw new Error(`LMTP to ${u}: connection closed after ${lines.join(' | ')}`);
            await sleep(2);
          }
        };
        let finals = 1;
        await expect(finals);
        s.write('LHLO bench\r\n');
        await expect(++finals);
        for (let i = 1; i <= cfg.messages; i++) {
          s.write(`MAIL FROM:<s@example.org>\r\nRCPT TO:<${u}>\r\nDATA\r\n`);
          finals += 3;
          await expect(finals);
          s.write(`${message(u, i).replace(/^\./gm, '..')}.\r\n`);
          await expect(++finals);
        }
        const bad = lines.filter((l) => /^[45]\d\d /.test(l));
        s.end('QUIT\r\n');
        if (bad.length) throw new Error(`LMTP delivery to ${u} failed: ${bad[0]}`);
      }
    };
    await Promise.all(Array.from({ length: 10 }, worker));
  }


  async function startSlapd(dir) {
    const url = `ldap://127.0.0.1:${await freePort()}/`;
    const ldif = users
      .filter((u) => !['alice@example.test', 'bob@example.test'].includes(u))
      .map((u) => {
        const uid = u.split('@')[0];
        return [
          `dn: uid=${uid},ou=People,o=example.test,o=tiermail`,
          ...['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'inetUser', 'inetMailUser'].map((c) => `objectClass: ${c}`),
          `uid: ${uid}`,
          `cn: ${uid}`,
          `sn: ${uid}`,
          `mail: ${u}`,
          'mailHost: store1',
          'inetUserStatus: active',
          'mailUserStatus: active',
          `userPassword: ${core.hashPassword(password)}`,
          '',
        ].join('\n');
      })
      .join('\n');
    const inst = await core.initSlapdDirectory({ dir: join(dir, 'ldap'), rootPassword: 'bench-admin', demo: { mailHost: 'store1' }, extraLdif: ldif });
    const child = start(inst.binaries.slapd, core.slapdArgs(inst, [url]));
    const port = Number(new URL(url).port);
    const until = Date.now() + 20000;
    while (Date.now() < until) {
      const ok = await new Promise((r) => {
        const s = connect({ port, host: '127.0.0.1' }, () => {
          s.destroy();
          r(true);
        });
        s.on('error', () => r(false));
      });
      if (ok) break;
      await sleep(100);
    }
    return { url, child };
  }

  async function startTiermail(dir, workers, ldapUrl) {
    const [imapPort, lmtpPort] = [await freePort(), await freePort()];
    const config = {
      deployment: { postmaster: 'postmaster@example.test' },
      hosts: { store1: { roles: ['store'], address: '127.0.0.1' } },
      directory: { urls: [ldapUrl.replace(/\/$/, '')], baseDn: 'o=tiermail', bindDn: 'cn=admin,o=tiermail', bindPassword: 'bench-admin', defaultDomain: 'example.test' },
      redis: { mode: 'single', host: '127.0.0.1', port: 1, keyPrefix: 'tmbench:' },
      paths: { var: join(dir, 'var'), log: join(dir, 'log'), run: join(dir, 'run') },
      log: { level: 'warn' },
      metrics: { enabled: false },
      store: {
        lmtp: { host: '127.0.0.1', port: lmtpPort },
        imap: { host: '127.0.0.1', port: imapPort },
        pop3: null,
        workers,
        plaintextAuth: 'always',
        maxConnectionsPerUser: 0,
        maxConnectionsPerIp: 0,
        // The MMP bench logs in through the proxy admin of the demo data.
        proxyAuth: { admins: ['mmp-proxy'], trustedNetworks: ['127.0.0.1/32'] },
      },
    };
    writeFileSync(join(dir, 'tiermail.yaml'), JSON.stringify(config, null, 2));
    const prof = cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [];
    const child = start(process.execPath, [...prof, join(root, 'packages', 'store', 'dist', 'main.js'), '-c', join(dir, 'tiermail.yaml'), '--host', 'store1'], { cwd: dir });
    await waitBanner(imapPort, child, 'tiermail store', '* OK');
    while (descendants(child.pid).length < workers) await sleep(50);
    await sleep(300);
    return { name: `tiermail (${workers} worker${workers > 1 ? 's' : ''})`, imapPort, lmtpPort, child, stop: () => stop(child, 20000) };
  }

  // ------------------------------------------------------------------------------------ loads

  async function loginLoad(port) {
    const until = Date.now() + cfg.durationMs;
    let n = 0;
    const lat = [];
    await Promise.all(
      Array.from({ length: cfg.clients }, async (_, c) => {
        for (let i = c; Date.now() < until; i += cfg.clients) {
          const t0 = performance.now();
          const s = await BenchImap.open(port);
          await s.command(`LOGIN ${users[i % users.length]} ${password}`);
          await s.command('LOGOUT').catch(() => undefined);
          s.close();
          lat.push(performance.now() - t0);
          n++;
        }
      }),
    );
    lat.sort((a, b) => a - b);
    return { perSec: n / (cfg.durationMs / 1000), p50: pct(lat, 50), p95: pct(lat, 95) };
  }

  const OPS = ['select', 'fetch-headers', 'fetch-body', 'search', 'store'];

  async function commandLoad(port) {
    const lat = Object.fromEntries(OPS.map((k) => [k, []]));
    const clients = [];
    for (let c = 0; c < cfg.clients; c++) {
      const s = await BenchImap.open(port);
      await s.command(`LOGIN ${users[c % users.length]} ${password}`);
      await s.command('SELECT INBOX');
      clients.push(s);
    }
    const until = Date.now() + cfg.durationMs;
    await Promise.all(
      clients.map(async (s, c) => {
        for (let i = c; Date.now() < until; i++) {
          const op = OPS[i % OPS.length];
          const n = 1 + (i % cfg.messages);
          const t0 = performance.now();
          if (op === 'select') {
            const r = await s.command('SELECT INBOX');
            if (!r.includes(`* ${cfg.messages} EXISTS`)) throw new Error(`SELECT: expected ${cfg.messages} EXISTS, got ${r.join(' | ')}`);
          } else if (op === 'fetch-headers') {
            const r = await s.command('FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])');
            if (r.filter((l) => l.includes(' FETCH (')).length !== cfg.messages) throw new Error('FETCH 1:* returned the wrong number of messages');
          } else if (op === 'fetch-body') {
            const r = await s.command(`FETCH ${n} BODY.PEEK[]`);
            if (!r[0]?.includes(`Message ${n} for`)) throw new Error(`FETCH ${n} BODY.PEEK[] returned ${String(r[0]).slice(0, 100)}`);
          } else if (op === 'search') {
            const r = await s.command('UID SEARCH SUBJECT invoice');
            const hits = (r[0] ?? '').split(' ').length - 2;
            if (hits !== Math.floor(cfg.messages / 5)) throw new Error(`SEARCH found ${hits}`);
          } else {
            await s.command(`UID STORE ${n} +FLAGS (\\Seen)`);
          }
          lat[op].push(performance.now() - t0);
        }
      }),
    );
    for (const s of clients) s.close();
    const out = {};
    let total = 0;
    for (const k of OPS) {
      const l = lat[k].sort((a, b) => a - b);
      total += l.length;
      out[k] = { p50: pct(l, 50), p95: pct(l, 95), p99: pct(l, 99) };
    }
    return { perSec: total / (cfg.durationMs / 1000), ops: out };
  }

  /**
   * Memory per idle connection: RSS of every server process with half the connections open and
   * with all of them, divided by the difference, so start-up and warm-up memory cancel out.
   */
  async function idleMemory(port, pid) {
    const conns = [];
    const openMore = async (n) => {
      for (let i = conns.length; i < n; i++) {
        // Several loopback source addresses so the client side never runs out of ports.
        const s = await BenchImap.open(port, `127.0.0.${2 + (i % 50)}`);
        await s.command(`LOGIN ${users[i % users.length]} ${password}`);
        await s.command('SELECT INBOX');
        conns.push(s);
      }
      await sleep(3000);
      return treeRssKiB(pid);
    };
    const half = Math.floor(cfg.idle / 2);
    const at = await openMore(half);
    const full = await openMore(cfg.idle);
    for (const s of conns) s.close();
    return { perConnKiB: (full - at) / (cfg.idle - half), totalMiB: full / 1024 };
  }


  return { freePort, waitBanner, treeRssKiB, fill, startSlapd, startTiermail, loginLoad, commandLoad, idleMemory };
}
