// An SMTP load generator for the relay benchmark: N sessions, each sending one message after
// another (MAIL, RCPT, DATA) to users spread round-robin, each message with its own Message-ID,
// as fast as the server answers or at a fixed total rate. For every 250 after DATA it keeps the
// time and the queue id the server named, so the benchmark can find each message in the store
// and measure how long it took from 250 to visible.
import { connect } from 'node:net';

export function makeMessage(size, id, to) {
  const head = `From: bench@load.example\r\nTo: ${to}\r\nSubject: bench ${id}\r\nMessage-ID: <${id}@bench.load>\r\nDate: ${new Date().toUTCString()}\r\n\r\n`;
  const line = 'The quick brown fox jumps over the lazy dog, and again, and again, for a while.\r\n';
  let body = '';
  while (head.length + body.length < size - 5) body += line;
  return `${head}${body.slice(0, Math.max(0, size - head.length - 2))}\r\n`;
}

class Session {
  constructor(port) {
    this.port = port;
    this.buf = '';
    this.waiters = [];
    this.lines = [];
  }

  async open() {
    this.socket = connect({ host: '127.0.0.1', port: this.port });
    this.socket.setEncoding('latin1');
    this.socket.setNoDelay(true);
    this.socket.on('data', (d) => {
      this.buf += d;
      let i;
      while ((i = this.buf.indexOf('\r\n')) >= 0) {
        const l = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        const w = this.waiters.shift();
        if (w) w(l);
        else this.lines.push(l);
      }
    });
    this.socket.on('error', () => this.fail());
    this.socket.on('close', () => this.fail());
    await new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
  }

  fail() {
    for (const w of this.waiters.splice(0)) w('<closed>');
  }

  line() {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((r) => this.waiters.push(r));
  }

  async reply() {
    for (;;) {
      const l = await this.line();
      if (l === '<closed>' || l[3] !== '-') return l;
    }
  }

  async command(c) {
    this.socket.write(`${c}\r\n`);
    return this.reply();
  }

  close() {
    this.socket.end('QUIT\r\n');
  }
}

/**
 * Runs the load. opts: { port, sessions, users (addresses), size, durationMs, rate (messages
 * per second in total, 0 = as fast as possible), runId }. Returns { accepted: [{ id, to,
 * queueId, t }], refused, errors, elapsedMs }.
 */
export async function smtpLoad(opts) {
  const accepted = [];
  let refused = 0;
  let errors = 0;
  let n = 0;
  const started = Date.now();
  const until = started + opts.durationMs;
  const interval = opts.rate > 0 ? 1000 / opts.rate : 0;
  const session = async (k) => {
    const s = new Session(opts.port);
    try {
      await s.open();
      if (!(await s.reply()).startsWith('220')) throw new Error('no greeting');
      await s.command('EHLO load.example');
      while (Date.now() < until) {
        const i = n++;
        if (interval > 0) {
          const due = started + i * interval;
          if (due >= until) break;
          if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        }
        const to = opts.users[i % opts.users.length];
        const id = `${opts.runId}.${i}`;
        const mail = await s.command('MAIL FROM:<bench@load.example>');
        const rcpt = await s.command(`RCPT TO:<${to}>`);
        if (!mail.startsWith('250') || !rcpt.startsWith('250')) {
          refused++;
          await s.command('RSET');
          continue;
        }
        if (!(await s.command('DATA')).startsWith('354')) {
          refused++;
          await s.command('RSET');
          continue;
        }
        s.socket.write(`${makeMessage(opts.size, id, to)}.\r\n`);
        const r = await s.reply();
        const t = Date.now();
        if (r.startsWith('250')) {
          const q = /queued as ([0-9A-Za-z]+)/.exec(r);
          accepted.push({ id, to, queueId: q ? q[1] : '', t });
        } else if (r === '<closed>') {
          throw new Error('connection closed');
        } else refused++;
      }
      s.close();
    } catch {
      errors++;
    }
    void k;
  };
  await Promise.all(Array.from({ length: opts.sessions }, (_, k) => session(k)));
  return { accepted, refused, errors, elapsedMs: Date.now() - started };
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
