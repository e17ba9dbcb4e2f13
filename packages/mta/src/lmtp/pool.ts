// LMTP connections kept open per destination, so a busy store is not reconnected for every
// message: at most `maxPerDestination` at once (the per-destination connection cap of the job
// controller; more jobs wait their turn), idle ones closed after `idleMs`.
import { LmtpConnection, type LmtpOptions } from './connection.js';

export interface PoolOptions {
  maxPerDestination: number;
  idleMs: number;
  lhlo: string;
  connectTimeoutMs: number;
  replyTimeoutMs: number;
}

interface Destination {
  idle: LmtpConnection[];
  open: number;
  waiters: Array<() => void>;
}

export class LmtpPool {
  private readonly destinations = new Map<string, Destination>();
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly opts: PoolOptions) {
    this.sweeper = setInterval(() => this.sweep(), Math.max(1000, Math.floor(opts.idleMs / 2)));
    this.sweeper.unref();
  }

  private dest(key: string): Destination {
    let d = this.destinations.get(key);
    if (!d) {
      d = { idle: [], open: 0, waiters: [] };
      this.destinations.set(key, d);
    }
    return d;
  }

  /**
   * Runs `fn` on a connection to host:port. `fresh` is true when the connection was opened for
   * this call: a reused one may have been closed by the server meanwhile, which the caller may
   * retry once on a fresh connection.
   */
  async with<T>(host: string, port: number, fn: (c: LmtpConnection, fresh: boolean) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('LMTP pool closed');
    const key = `${host}:${port}`;
    const d = this.dest(key);
    let conn: LmtpConnection | undefined;
    for (;;) {
      while (d.idle.length > 0) {
        const c = d.idle.pop()!;
        if (c.usable) {
          conn = c;
          break;
        }
        d.open -= 1;
      }
      if (conn || d.open < this.opts.maxPerDestination) break;
      await new Promise<void>((r) => d.waiters.push(r));
    }
    const fresh = !conn;
    d.open += fresh ? 1 : 0;
    let ok = false;
    try {
      if (!conn) {
        const o: LmtpOptions = { host, port, lhlo: this.opts.lhlo, connectTimeoutMs: this.opts.connectTimeoutMs, replyTimeoutMs: this.opts.replyTimeoutMs };
        conn = await LmtpConnection.open(o);
      }
      const result = await fn(conn, fresh);
      ok = true;
      return result;
    } finally {
      if (ok && conn?.usable && !this.closed) d.idle.push(conn);
      else {
        conn?.close();
        d.open -= 1;
      }
      d.waiters.shift()?.();
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const d of this.destinations.values()) {
      d.idle = d.idle.filter((c) => {
        if (c.usable && now - c.lastUsed < this.opts.idleMs) return true;
        void c.quit();
        d.open -= 1;
        return false;
      });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    const all = [...this.destinations.values()].flatMap((d) => d.idle.splice(0));
    await Promise.all(all.map((c) => c.quit()));
  }
}
