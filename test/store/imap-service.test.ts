// The IMAP listener of the real store process (cluster primary with 2 workers, as in
// production): demo users log in against slapd, mail delivered over LMTP shows up, and an IDLE
// session hears of deliveries whichever worker took the LMTP connection (Redis change feed);
// the primary's /metrics adds up what every worker counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { ImapFlow } from 'imapflow';
import { startRedis } from '../harness/redis.js';
import { startSlapd } from '../harness/slapd.js';
import { startStore } from '../harness/store.js';
import { LmtpClient, message } from '../harness/lmtp-client.js';
import { RawImap } from './imap-helpers.js';

test('store process: IMAP login, LMTP deliveries reach an IDLE session from both workers, POP3 beside it', async () => {
  const slapd = await startSlapd({ demo: true });
  const redis = await startRedis();
  const store = await startStore({ workers: 2, redisPort: redis.port, ldapUrl: slapd.url });
  try {
    const { client: idler } = await RawImap.open(store.imapPort);
    assert.match((await idler.command('l', 'LOGIN alice demo-password')).at(-1)!, /^l OK/);
    const sel = await idler.command('s', 'SELECT INBOX');
    const before = Number(/\* (\d+) EXISTS/.exec(sel.join('\n'))![1]);
    idler.write('i IDLE\r\n');
    assert.equal(await idler.line(), '+ idling');
    await new Promise((r) => setTimeout(r, 300)); // both workers' subscriptions are up
    // One LMTP connection per message: the primary hands connections to the workers in turn,
    // so some deliveries are made by the worker that does not hold the IDLE session. The
    // fallback poll is 15 s; each EXISTS must come well before that.
    for (let i = 1; i <= 4; i++) {
      const { client } = await LmtpClient.open(store.port);
      await client.command('LHLO relay1');
      const r = await client.transaction('carol@example.org', ['<alice@example.test>'], message(`idle ${i}`, 'hello\r\n'));
      assert.match(r.data[0] ?? '', /^250/);
      await client.close();
      const started = Date.now();
      for (;;) {
        const line = await idler.line(5000);
        if (line === `* ${before + i} EXISTS`) break;
        assert.notEqual(line, '<closed>');
      }
      assert.ok(Date.now() - started < 5000);
    }
    idler.write('DONE\r\n');
    assert.deepEqual(await idler.tagged('i'), ['i OK IDLE terminated']);
    idler.close();

    const flow = new ImapFlow({ host: '127.0.0.1', port: store.imapPort, secure: false, auth: { user: 'alice@example.test', pass: 'demo-password' }, logger: false });
    await flow.connect();
    const lock = await flow.getMailboxLock('INBOX');
    try {
      const subjects: string[] = [];
      for await (const m of flow.fetch('1:*', { envelope: false, headers: ['subject'] })) subjects.push(m.headers?.toString('utf8').trim() ?? '');
      assert.deepEqual(subjects.slice(-4), ['Subject: idle 1', 'Subject: idle 2', 'Subject: idle 3', 'Subject: idle 4']);
    } finally {
      lock.release();
      await flow.logout();
    }

    // POP3 of the same process sees the same INBOX (and takes its lock across workers).
    const pop = connect({ host: '127.0.0.1', port: store.pop3Port });
    pop.setEncoding('latin1');
    let popText = '';
    pop.on('data', (d: string) => (popText += d));
    const waitPop = async (re: RegExp) => {
      const until = Date.now() + 5000;
      while (!re.test(popText) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      assert.match(popText, re);
    };
    await waitPop(/^\+OK .*POP3 ready\r\n/);
    pop.write('USER alice\r\nPASS demo-password\r\nSTAT\r\nQUIT\r\n');
    await waitPop(/\+OK Signing off/);
    assert.match(popText, new RegExp(`\\+OK ${before + 4} \\d+\r\n`));
    pop.destroy();

    // The primary's /metrics sums every worker: 4 deliveries and 2 logins, wherever they ran.
    const body = await (await fetch(`http://127.0.0.1:${store.metricsPort}/metrics`)).text();
    const value = (re: RegExp): number => Number(re.exec(body)?.[1] ?? NaN);
    assert.equal(value(/^tiermail_store_deliveries_total\{result="stored"[^}]*\} (\d+)/m), 4, body.slice(0, 2000));
    assert.equal(value(/^tiermail_imap_logins_total\{result="ok"[^}]*\} (\d+)/m), 2);
    assert.ok(value(/^tiermail_imap_commands_total\{command="SELECT",status="OK"[^}]*\} (\d+)/m) >= 2);
    assert.match(body, /^tiermail_imap_command_seconds_bucket\{/m);
  } finally {
    await store.cleanup();
    await redis.stop();
    await slapd.stop();
  }
});
