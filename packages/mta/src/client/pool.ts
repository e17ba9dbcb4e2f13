// Client connections kept open per destination, so a busy store or MX is not reconnected for
// every message: at most `maxPerDestination` at once (the per-destination connection cap of the
// job controller; more jobs wait their turn), idle ones closed after `idleMs`.
import { ClientConnection, ClientConnectionError, type ClientOptions } from './connection.js';

export interface PoolOptions {
  protocol: ClientOptions['protocol'];
  maxPerDestination: number;
  idleMs: number;
  /** Our name for LHLO/EHLO. */
  helo: string;
  connectTimeoutMs: number;
  replyTimeoutMs: number;
}

/** Where to connect and how: host, port, and for SMTP the TLS wishes and the MX name. */
export interface PoolTarget {
  host: string;
  port: number;
  startTls?: ClientOptions['startTls'];
  serverName?: string;
}

interface Destination {
  idle: ClientConnection[];
  open: number;
  waiters: Array<() => void>;
}

export class ConnectionPool {
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
  async with<T>(target: PoolTarget, fn: (c: ClientConnection, fresh: boolean) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error(`${this.opts.protocol.toUpperCase()} connection pool closed`);
    const key = `${target.host}:${target.port}:${target.startTls ?? 'none'}`;
    const d = this.dest(key);
    let conn: ClientConnection | undefined;
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
        conn = await ClientConnection.open({
          ...target,
          protocol: this.opts.protocol,
          helo: this.opts.helo,
          connectTimeoutMs: this.opts.connectTimeoutMs,
          replyTimeoutMs: this.opts.replyTimeoutMs,
        });
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

  /**
   * Like with(), but a pooled connection the server closed meanwhile is replaced by a fresh one
   * once, unless the data may have reached the server (then the retry schedule takes over, and
   * for LMTP the delivery id keeps the store from storing it twice).
   */
  async run<T>(target: PoolTarget, fn: (c: ClientConnection) => Promise<T>): Promise<T> {
    let stale = false;
    try {
      return await this.with(target, async (conn, fresh) => {
        try {
          return await fn(conn);
        } catch (err) {
          if (fresh || !(err instanceof ClientConnectionError) || err.afterData) throw err;
          stale = true;
          throw err;
        }
      });
    } catch (err) {
      if (!stale) throw err;
      return this.with(target, (conn) => fn(conn));
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
