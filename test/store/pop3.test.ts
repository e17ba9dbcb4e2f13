// The store's POP3 server (RFC 1939, CAPA, STLS, AUTH PLAIN, RESP-CODES) over real sockets:
// Python's poplib for a whole session, raw sockets for exact replies, dot-stuffing, the lock,
// proxy login, TLS, and bad input. Real slapd; the store engine in a temp directory.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPop3Server, type Pop3Server } from '@tiermail/store/pop3/index';
import { runPython } from '../harness/python.js';
import { testCert } from '../harness/tls.js';
import { startImapFixture, type ImapFixture } from './imap-helpers.js';

let fx: ImapFixture;
let pop: Pop3Server;
let popTls: Pop3Server;
const lockDir = mkdtempSync(join(tmpdir(), 'tm-pop3-locks-'));
const ALICE = 'alice@example.test';

before(async () => {
  fx = await startImapFixture();
  pop = await startPop3Server(fx.store, { host: '127.0.0.1', port: 0, login: fx.login, lockDir, authFailureDelayMs: 10 });
  popTls = await startPop3Server(fx.store, { host: '127.0.0.1', port: 0, login: fx.login, lockDir, tls: testCert().options, authFailureDelayMs: 10 });
  for (const [i, body] of ['first body\r\n', '.starts with a dot\r\n..two dots\r\nend\r\n', 'third\r\n'].entries()) {
    await fx.store.deliver({ data: Buffer.from(`From: c@example.org\r\nSubject: m${i + 1}\r\n\r\n${body}`) }, [{ user: ALICE }]);
  }
});
after(async () => {
  await pop.close(1000);
  await popTls.close(1000);
  await fx.stop();
});

class RawPop {
  private buf = '';
  private waiters: Array<() => void> = [];
  closed = false;
  constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buf += d;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => undefined);
  }
  static async open(port: number, localAddress?: string): Promise<RawPop> {
    const s = connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
    await new Promise((r) => s.once('connect', r));
    const c = new RawPop(s);
    await c.line();
    return c;
  }
  async line(): Promise<string> {
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i >= 0) {
        const l = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        return l;
      }
      if (this.closed) return '<closed>';
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timeout; have ${JSON.stringify(this.buf)}`)), 5000);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
  async cmd(text: string): Promise<string> {
    this.socket.write(`${text}\r\n`);
    return this.line();
  }
  /** A multi-line response: the +OK line and the lines up to ".". */
  async multi(text: string): Promise<string[]> {
    const out = [await this.cmd(text)];
    if (!out[0]!.startsWith('+OK')) return out;
    for (let l = await this.line(); l !== '.'; l = await this.line()) out.push(l);
    return out;
  }
}

test('Python poplib: whole session, deletion only at QUIT, UIDLs stable', async () => {
  const script = `
import poplib, json, sys
p = poplib.POP3('127.0.0.1', int(sys.argv[1]))
out = {'welcome': p.getwelcome().decode()}
out['capa'] = sorted(p.capa().keys())
p.user('alice'); out['pass'] = p.pass_('demo-password').decode()
out['stat'] = list(p.stat())
out['list'] = [x.decode() for x in p.list()[1]]
out['uidl'] = [x.decode() for x in p.uidl()[1]]
resp, lines, octets = p.retr(2)
out['retr2'] = [l.decode() for l in lines]
out['top1'] = [l.decode() for l in p.top(1, 0)[1]]
out['dele'] = p.dele(1).decode()
out['quit'] = p.quit().decode()
q = poplib.POP3('127.0.0.1', int(sys.argv[1]))
q.user('alice'); q.pass_('demo-password')
out['stat_after'] = list(q.stat())
out['uidl_after'] = [x.decode() for x in q.uidl()[1]]
q.quit()
print(json.dumps(out))
`;
  const r = await runPython(script, String(pop.port));
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.match(out.welcome as string, /^\+OK .*POP3 ready$/);
  assert.ok((out.capa as string[]).includes('UIDL') && (out.capa as string[]).includes('STLS') === false);
  assert.match(out.pass as string, /^\+OK Logged in, 3 messages/);
  assert.equal((out.stat as number[])[0], 3);
  assert.equal((out.list as string[]).length, 3);
  const uidl = out.uidl as string[];
  assert.match(uidl[0]!, /^1 \d+\.1$/);
  assert.deepEqual((out.retr2 as string[]).slice(-3), ['.starts with a dot', '..two dots', 'end'], 'poplib undoes the dot-stuffing');
  assert.deepEqual(out.top1, ['From: c@example.org', 'Subject: m1', '']);
  assert.match(out.quit as string, /^\+OK Signing off, 1 messages deleted$/);
  assert.equal((out.stat_after as number[])[0], 2);
  assert.deepEqual(out.uidl_after, uidl.slice(1).map((l) => l.replace(/^\d+/, (n) => String(Number(n) - 1))));
});

test('raw: dot-stuffing on the wire, RSET, a dropped connection deletes nothing, errors', async () => {
  const c = await RawPop.open(pop.port);
  assert.equal(await c.cmd('STAT'), '-ERR STAT not allowed before login');
  assert.equal(await c.cmd('PASS x'), '-ERR USER first');
  assert.equal(await c.cmd('USER alice'), '+OK Send PASS');
  assert.equal(await c.cmd('PASS wrong'), '-ERR [AUTH] Authentication failed');
  await c.cmd('USER alice');
  assert.match(await c.cmd('PASS demo-password'), /^\+OK Logged in, 2 messages/);
  const retr = await c.multi('RETR 1');
  assert.match(retr[0]!, /^\+OK \d+ octets$/);
  assert.deepEqual(retr.slice(-3), ['..starts with a dot', '...two dots', 'end']);
  assert.equal(await c.cmd('DELE 1'), '+OK Message 1 deleted');
  assert.equal(await c.cmd('DELE 1'), '-ERR Message 1 is deleted');
  assert.equal(await c.cmd('RETR 9'), '-ERR No message 9');
  assert.equal(await c.cmd('TOP 2'), '-ERR TOP needs a message number and a line count');
  assert.match(await c.cmd('STAT'), /^\+OK 1 \d+$/);
  assert.equal(await c.cmd('RSET'), '+OK 2 messages');
  assert.match(await c.cmd('STAT'), /^\+OK 2 \d+$/);
  await c.cmd('DELE 2');
  assert.equal(await c.cmd('FROB'), '-ERR Unknown command FROB');
  assert.equal(await c.cmd('x'.repeat(2000)), '-ERR Line too long');
  assert.equal(await c.cmd('NO\u0000OP'), '-ERR Invalid characters');
  assert.equal(await c.cmd('NOOP'), '+OK ');
  c.socket.destroy(); // no QUIT: nothing is deleted
  await new Promise((r) => setTimeout(r, 200));
  const m = fx.store.openUser(ALICE);
  assert.equal(m.messages('INBOX').length, 2);
  m.close();
});

test('one POP session per mailbox; the lock of a killed process is taken over', async () => {
  const a = await RawPop.open(pop.port);
  await a.cmd('USER alice');
  assert.match(await a.cmd('PASS demo-password'), /^\+OK/);
  const b = await RawPop.open(pop.port);
  await b.cmd('USER alice');
  assert.equal(await b.cmd('PASS demo-password'), '-ERR [IN-USE] Mailbox locked by another POP session');
  assert.match(await a.cmd('QUIT'), /^\+OK/);
  await b.cmd('USER alice');
  assert.match(await b.cmd('PASS demo-password'), /^\+OK/);
  await b.cmd('QUIT');
  // A process that takes the lock and dies without releasing it.
  const child = spawn(process.execPath, [
    '--input-type=module',
    '-e',
    `import { MaildropLocks } from '@tiermail/store/pop3/index'; new MaildropLocks(${JSON.stringify(lockDir)}).acquire('alice@example.test'); process.stdout.write('held\\n'); setInterval(() => {}, 1000);`,
  ], { cwd: join(process.cwd(), 'test'), stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => child.stdout!.once('data', r));
  const c = await RawPop.open(pop.port);
  await c.cmd('USER alice');
  assert.equal(await c.cmd('PASS demo-password'), '-ERR [IN-USE] Mailbox locked by another POP session');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  await c.cmd('USER alice');
  assert.match(await c.cmd('PASS demo-password'), /^\+OK/, 'the dead process lock is stale');
  await c.cmd('QUIT');
});

test('AUTH PLAIN with continuation, proxy login from trusted and untrusted addresses', async () => {
  const plain = (z: string, c: string, p: string) => Buffer.from(`${z}\0${c}\0${p}`).toString('base64');
  const c = await RawPop.open(pop.port);
  assert.equal(await c.cmd('AUTH PLAIN'), '+ ');
  assert.match(await c.cmd(plain('', 'bob', 'demo-password')), /^\+OK Logged in/);
  await c.cmd('QUIT');
  const far = await RawPop.open(pop.port, '127.0.0.2');
  assert.equal(await far.cmd(`AUTH PLAIN ${plain('alice', 'mmp-proxy', 'demo-proxy-password')}`), '-ERR [AUTH] Not authorized to act as that user');
  await far.cmd('QUIT');
  const near = await RawPop.open(pop.port);
  assert.match(await near.cmd(`AUTH PLAIN ${plain('alice', 'mmp-proxy', 'demo-proxy-password')}`), /^\+OK Logged in/);
  await near.cmd('QUIT');
});

test('STLS: offered, handshake, then CAPA changes and login works', async () => {
  const c = await RawPop.open(popTls.port);
  const capa = await c.multi('CAPA');
  assert.ok(capa.includes('STLS'));
  assert.equal(await c.cmd('STLS'), '+OK Begin TLS negotiation');
  const secure = tlsConnect({ socket: c.socket, rejectUnauthorized: false });
  await new Promise((r) => secure.once('secureConnect', r));
  const s = new RawPop(secure as unknown as Socket);
  const capa2 = await s.multi('CAPA');
  assert.ok(!capa2.includes('STLS') && capa2.includes('USER'));
  assert.equal(await s.cmd('STLS'), '-ERR STLS not available');
  await s.cmd('USER bob');
  assert.match(await s.cmd('PASS demo-password'), /^\+OK/);
  assert.match(await s.cmd('QUIT'), /^\+OK/);
});
