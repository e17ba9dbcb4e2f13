// LMTP load generator: N concurrent sessions, each running plain transactions one after another
// (MAIL, wait; RCPT, wait; DATA, wait for 354; message and the final dot, wait for the reply),
// one recipient per transaction, recipients spread round-robin over a set of users. The same
// code drives every server, so only the server differs between the figures.
import { connect } from 'node:net';

/** A message of exactly `size` bytes (CRLF lines, no line starting with a dot). */
export function makeMessage(size, n, runId) {
  const head =
    `From: Load Generator <load@example.org>\r\n` +
    `To: <rcpt@example.test>\r\n` +
    `Subject: benchmark message ${n}\r\n` +
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}\r\n` +
    `Message-ID: <${runId}.${n}@bench.example.org>\r\n` +
    `MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n`;
  const line = 'The quick brown fox jumps over the lazy dog; pack my box with five dozen jugs. 0123456789';
  // Body lines of at most 78 characters plus CRLF; the last one takes what is left over.
  const lengths = [];
  let left = size - head.length;
  while (left > 80) {
    lengths.push(78);
    left -= 80;
  }
  if (left === 1) {
    lengths[lengths.length - 1] += 1;
  } else if (left >= 2) {
    lengths.push(left - 2);
  }
  const text = head + lengths.map((l) => `${line.slice(0, l)}\r\n`).join('');
  if (text.length !== size) throw new Error(`message size ${text.length}, wanted ${size}`);
  return Buffer.from(text, 'latin1');
}

class Session {
  constructor(socket) {
    this.socket = socket;
    this.buf = '';
    this.lines = [];
    this.waiter = null;
    this.closed = false;
    socket.setEncoding('latin1');
    socket.setNoDelay(true);
    socket.on('data', (d) => {
      this.buf += d;
      let i;
      while ((i = this.buf.indexOf('\r\n')) >= 0) {
        this.lines.push(this.buf.slice(0, i));
        this.buf = this.buf.slice(i + 2);
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  wake() {
    const w = this.waiter;
    if (!w) return;
    const r = this.takeReply();
    if (r !== null) {
      this.waiter = null;
      w.resolve(r);
    }
  }

  /** A whole reply (continuation lines joined with \n), or null if not complete yet. */
  takeReply() {
    for (let i = 0; i < this.lines.length; i++) {
      const l = this.lines[i];
      if (l.length < 4 || l[3] !== '-') {
        const reply = this.lines.splice(0, i + 1).join('\n');
        return reply;
      }
    }
    if (this.closed) return '<closed>';
    return null;
  }

  reply(timeoutMs = 60000) {
    const r = this.takeReply();
    if (r !== null) return Promise.resolve(r);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiter = null;
        reject(new Error('no reply within 60 s'));
      }, timeoutMs);
      this.waiter = {
        resolve: (x) => {
          clearTimeout(t);
          resolve(x);
        },
      };
    });
  }

  send(data) {
    this.socket.write(data);
  }

  async command(cmd) {
    this.send(`${cmd}\r\n`);
    return this.reply();
  }

  static open(port, host = '127.0.0.1') {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host });
      s.once('connect', () => resolve(new Session(s)));
      s.once('error', reject);
    });
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/**
 * Runs the load and resolves with the counts and latencies.
 * - accepted: every 250 after DATA (warm-up and window alike): what must be in the mailboxes;
 * - inWindow: transactions that ended inside the measured window; their rate and latencies
 *   are the result.
 * `rcptParams(n)` returns extra RCPT parameters (e.g. XDELIVERYID) for transaction n.
 * `onWindow(start|end)` is called at the window's edges (to sample server CPU time).
 */
export async function runLoad(opts) {
  const { port, sessions, users, size, warmupMs, durationMs, runId, rcptParams = () => '', onWindow = () => undefined } = opts;
  const userName = (i) => `u${String(i).padStart(3, '0')}@example.test`;
  let next = 0;
  const stats = { accepted: 0, failed: 0, failures: new Map(), inWindow: 0, latencies: [], errors: [] };
  let windowStart = Infinity;
  let windowEnd = Infinity;
  let stopping = false;
  const cpu0 = process.cpuUsage();

  const fail = (what) => {
    stats.failed++;
    const key = what.slice(0, 80);
    stats.failures.set(key, (stats.failures.get(key) ?? 0) + 1);
  };

  const runSession = async () => {
    const s = await Session.open(port);
    const greeting = await s.reply();
    if (!greeting.startsWith('220')) throw new Error(`greeting: ${greeting}`);
    const lhlo = await s.command('LHLO bench.example.org');
    if (!lhlo.startsWith('250')) throw new Error(`LHLO: ${lhlo}`);
    while (!stopping) {
      // A server that went away ends the session (its replies would all be '<closed>', at once,
      // and the loop would never yield to the event loop again).
      if (s.closed) throw new Error('connection closed by the server');
      const n = next++;
      const user = userName(n % users);
      const msg = makeMessage(size, n, runId);
      const t0 = performance.now();
      const mail = await s.command('MAIL FROM:<load@example.org>');
      if (mail === '<closed>') throw new Error('connection closed by the server');
      if (!mail.startsWith('250')) {
        fail(`MAIL ${mail}`);
        await s.command('RSET');
        continue;
      }
      const extra = rcptParams(n, user);
      const rcpt = await s.command(`RCPT TO:<${user}>${extra ? ` ${extra}` : ''}`);
      if (!rcpt.startsWith('250')) {
        fail(`RCPT ${rcpt}`);
        await s.command('RSET');
        continue;
      }
      const go = await s.command('DATA');
      if (!go.startsWith('354')) {
        fail(`DATA ${go}`);
        await s.command('RSET');
        continue;
      }
      s.send(Buffer.concat([msg, Buffer.from('.\r\n')]));
      const final = await s.reply();
      const t1 = performance.now();
      if (final === '<closed>') throw new Error('connection closed during a transaction');
      if (final.startsWith('250')) {
        stats.accepted++;
        if (t1 >= windowStart && t1 <= windowEnd) {
          stats.inWindow++;
          stats.latencies.push(t1 - t0);
        }
      } else {
        fail(`after DATA ${final}`);
      }
    }
    await s.command('QUIT').catch(() => undefined);
    s.socket.destroy();
  };

  const started = performance.now();
  const all = Array.from({ length: sessions }, () =>
    runSession().catch((err) => {
      stats.errors.push(err instanceof Error ? err.message : String(err));
    }),
  );
  await new Promise((r) => setTimeout(r, warmupMs));
  windowStart = performance.now();
  const cpuStart = process.cpuUsage();
  await onWindow('start');
  await new Promise((r) => setTimeout(r, durationMs));
  windowEnd = performance.now();
  await onWindow('end');
  const cpuWindow = process.cpuUsage(cpuStart);
  stopping = true;
  await Promise.all(all);
  const seconds = (windowEnd - windowStart) / 1000;
  const sorted = Float64Array.from(stats.latencies).sort();
  const total = process.cpuUsage(cpu0);
  return {
    accepted: stats.accepted,
    failed: stats.failed,
    failures: Object.fromEntries(stats.failures),
    errors: stats.errors,
    inWindow: stats.inWindow,
    seconds,
    perSecond: stats.inWindow / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
    generatorCpuPercent: ((cpuWindow.user + cpuWindow.system) / 1000 / (seconds * 1000)) * 100,
    totalSeconds: (performance.now() - started) / 1000,
    generatorCpuTotalMs: (total.user + total.system) / 1000,
  };
}
