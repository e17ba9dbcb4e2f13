// A small IMAP client for the benchmark: one command at a time per connection, literals read
// by their length, every tagged reply checked. Lighter than a full client library, so the
// load generator costs little CPU beside the servers it measures.
import { connect } from 'node:net';

export class BenchImap {
  constructor(socket) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.waiter = null;
    this.closed = false;
    this.tagN = 0;
    socket.on('data', (d) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      const w = this.waiter;
      this.waiter = null;
      w?.();
    });
    socket.on('close', () => {
      this.closed = true;
      const w = this.waiter;
      this.waiter = null;
      w?.();
    });
    socket.on('error', () => undefined);
  }

  static open(port, localAddress) {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
      s.setNoDelay(true);
      s.once('error', reject);
      s.once('connect', async () => {
        s.off('error', reject);
        const c = new BenchImap(s);
        try {
          const greeting = await c.line();
          if (!greeting.startsWith('* OK')) throw new Error(`bad greeting: ${greeting}`);
          resolve(c);
        } catch (err) {
          reject(err);
        }
      });
    });
  }

  async more() {
    if (this.closed) throw new Error('connection closed');
    await new Promise((r) => (this.waiter = r));
  }

  /** One response line; a line ending in {n} includes its literal and what follows. */
  async line() {
    let text = '';
    for (;;) {
      let i = this.buf.indexOf('\r\n');
      while (i < 0) {
        await this.more();
        i = this.buf.indexOf('\r\n');
      }
      const l = this.buf.toString('latin1', 0, i);
      this.buf = this.buf.subarray(i + 2);
      text += l;
      const lit = /\{(\d+)\}$/.exec(l);
      if (!lit) return text;
      const n = Number(lit[1]);
      while (this.buf.length < n) await this.more();
      text += `\r\n${this.buf.toString('latin1', 0, n)}`;
      this.buf = this.buf.subarray(n);
    }
  }

  /** Sends a command; resolves with the untagged lines; throws unless the reply is OK. */
  async command(text) {
    const tag = `b${++this.tagN}`;
    this.socket.write(`${tag} ${text}\r\n`);
    const untagged = [];
    for (;;) {
      const l = await this.line();
      if (l.startsWith(`${tag} `)) {
        if (!l.startsWith(`${tag} OK`)) throw new Error(`${text.split(' ')[0]} failed: ${l}`);
        return untagged;
      }
      untagged.push(l);
    }
  }

  close() {
    this.socket.destroy();
  }
}

/** Percentile of sorted numbers. */
export function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
