// Connections to an ordered list of LDAP servers. Each server gets a few connections bound as
// the service account (LDAP multiplexes, so a connection carries concurrent operations). A
// server that fails (refused, reset, timed out, busy) is skipped for retryDownAfterMs and the
// next one is used; when every server is marked down they are all tried anyway, in order,
// because failing without trying would turn a short outage into a long one.
//
// Every step has a deadline: connecting (connectTimeoutMs), then each operation (timeoutMs,
// enforced both by ldapts and by our own timer that destroys the socket). A stopped (SIGSTOP)
// server accepts TCP connections but never answers; only these deadlines notice.
import net from 'node:net';
import tls from 'node:tls';
import { Client, type SearchOptions, type SearchResult } from 'ldapts';
import { DirectoryUnavailableError, type FailedAttempt } from './errors.js';
import { describeError, isServerFailure, isTimeout, OperationTimeoutError, ServerUnusableError } from './failures.js';

export interface PoolOptions {
  urls: readonly string[];
  bindDn: string;
  bindPassword: string;
  timeoutMs: number;
  connectTimeoutMs: number;
  /** Connections kept per server. */
  poolSize: number;
  retryDownAfterMs: number;
  tls?: tls.ConnectionOptions;
  now?: () => number;
  onEvent?: (event: PoolEvent) => void;
}

export type PoolEvent =
  | { type: 'down'; url: string; error: string; until: number }
  | { type: 'up'; url: string }
  | { type: 'failover'; from: string; to: string };

/** What a lookup may do with a connection; every call is one LDAP request (counted). */
export interface LdapSession {
  readonly url: string;
  search(base: string, options: SearchOptions): Promise<SearchResult>;
  bind(dn: string, password: string): Promise<void>;
}

interface Conn {
  client: Client | undefined;
  socket: net.Socket | undefined;
  ready: Promise<void>;
  inflight: number;
  broken: boolean;
  /** Has served an operation: a failure then may just be a stale socket, worth one retry. */
  used: boolean;
}

interface Server {
  url: string;
  downUntil: number;
  conns: Conn[];
}

/** Extra time our own deadline gives ldapts's, so its clearer error normally wins the race. */
const DEADLINE_SLACK_MS = 100;

export class LdapPool {
  requests = 0;
  failovers = 0;
  private readonly servers: Server[];
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly opts: PoolOptions) {
    if (opts.urls.length === 0) throw new Error('directory: no LDAP URL configured');
    this.servers = opts.urls.map((url) => ({ url, downUntil: 0, conns: [] }));
    this.now = opts.now ?? Date.now;
  }

  /** URLs currently skipped because they failed recently. */
  downServers(): string[] {
    const now = this.now();
    return this.servers.filter((s) => s.downUntil > now).map((s) => s.url);
  }

  /** Runs `fn` on a pooled connection bound as the service account, failing over on server errors. */
  run<T>(operation: string, fn: (session: LdapSession) => Promise<T>): Promise<T> {
    return this.failover(operation, (server) => this.onPooled(server, fn));
  }

  /**
   * Runs `fn` on a new, unbound connection closed afterwards: for binds as end users, which
   * must never change the identity of a pooled connection.
   */
  runFresh<T>(operation: string, fn: (session: LdapSession) => Promise<T>): Promise<T> {
    return this.failover(operation, (server) => this.onFresh(server, fn));
  }

  async close(): Promise<void> {
    this.closed = true;
    const conns = this.servers.flatMap((s) => s.conns.splice(0));
    await Promise.all(conns.map((c) => this.closeConn(c)));
  }

  private async failover<T>(operation: string, attempt: (server: Server) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('directory client is closed');
    const now = this.now();
    const up = this.servers.filter((s) => s.downUntil <= now);
    const down = this.servers.filter((s) => s.downUntil > now);
    const order = [...up, ...down];
    const attempts: FailedAttempt[] = [];
    for (let i = 0; i < order.length; i++) {
      const server = order[i]!;
      try {
        const result = await attempt(server);
        if (server.downUntil > 0) {
          server.downUntil = 0;
          this.opts.onEvent?.({ type: 'up', url: server.url });
        }
        return result;
      } catch (err) {
        if (!isServerFailure(err)) throw err;
        const error = describeError(err);
        attempts.push({ url: server.url, error });
        server.downUntil = this.now() + this.opts.retryDownAfterMs;
        this.opts.onEvent?.({ type: 'down', url: server.url, error, until: server.downUntil });
        const next = order[i + 1];
        if (next) {
          this.failovers++;
          this.opts.onEvent?.({ type: 'failover', from: server.url, to: next.url });
        }
      }
    }
    throw new DirectoryUnavailableError(operation, attempts);
  }

  private async onPooled<T>(server: Server, fn: (session: LdapSession) => Promise<T>): Promise<T> {
    const conn = this.acquire(server);
    try {
      return await this.useConn(server, conn, fn);
    } catch (err) {
      // A connection that worked before and now failed fast (not a timeout) was most likely
      // closed under us (server restart, idle cut by a firewall): one retry on a new one.
      if (conn.used && isServerFailure(err) && !isTimeout(err)) {
        return this.useConn(server, this.open(server), fn);
      }
      throw err;
    }
  }

  private async useConn<T>(server: Server, conn: Conn, fn: (session: LdapSession) => Promise<T>): Promise<T> {
    conn.inflight++;
    try {
      await this.deadline(conn.ready, this.opts.connectTimeoutMs + this.opts.timeoutMs, conn, 'connect and bind');
      const result = await this.deadline(fn(this.session(server.url, conn)), this.opts.timeoutMs, conn, 'operation');
      conn.used = true;
      return result;
    } catch (err) {
      if (isServerFailure(err)) this.discard(server, conn);
      throw err;
    } finally {
      conn.inflight--;
    }
  }

  private async onFresh<T>(server: Server, fn: (session: LdapSession) => Promise<T>): Promise<T> {
    const conn = this.connect(server.url, null);
    try {
      await this.deadline(conn.ready, this.opts.connectTimeoutMs + this.opts.timeoutMs, conn, 'connect');
      return await this.deadline(fn(this.session(server.url, conn)), this.opts.timeoutMs, conn, 'operation');
    } finally {
      await this.closeConn(conn);
    }
  }

  /** The least busy live connection, or a new one while the server has fewer than poolSize. */
  private acquire(server: Server): Conn {
    server.conns = server.conns.filter((c) => !c.broken);
    let best: Conn | undefined;
    for (const c of server.conns) if (!best || c.inflight < best.inflight) best = c;
    if (!best || (best.inflight > 0 && server.conns.length < this.opts.poolSize)) return this.open(server);
    return best;
  }

  private open(server: Server): Conn {
    const conn = this.connect(server.url, { dn: this.opts.bindDn, password: this.opts.bindPassword });
    server.conns.push(conn);
    return conn;
  }

  /** A connection (optionally bound); `ready` settles when it can be used. */
  private connect(url: string, bindAs: { dn: string; password: string } | null): Conn {
    const conn: Conn = { client: undefined, socket: undefined, ready: Promise.resolve(), inflight: 0, broken: false, used: false };
    conn.ready = (async () => {
      const socket = await openSocket(url, this.opts.connectTimeoutMs, this.opts.tls);
      conn.socket = socket;
      socket.once('close', () => {
        conn.broken = true;
      });
      if (conn.broken) throw new ServerUnusableError('connection discarded while opening');
      let handedOut = false;
      // ldapts dials again by itself when its socket is gone; we want a fresh Conn instead,
      // so the factory hands out this one socket exactly once.
      const factory = (): net.Socket => {
        if (handedOut) throw new ServerUnusableError('connection closed');
        handedOut = true;
        return socket;
      };
      conn.client = new Client({
        url,
        timeout: this.opts.timeoutMs,
        connectTimeout: this.opts.connectTimeoutMs,
        createConnection: factory as unknown as typeof net.connect,
        createSecureConnection: factory as unknown as typeof tls.connect,
      });
      if (bindAs) {
        this.requests++;
        try {
          await conn.client.bind(bindAs.dn, bindAs.password);
        } catch (err) {
          // Whatever the reason (even wrong service credentials), this server cannot serve us.
          throw isServerFailure(err) ? err : new ServerUnusableError(`service bind as ${bindAs.dn}: ${describeError(err)}`);
        }
      }
    })();
    conn.ready.catch(() => {
      conn.broken = true;
    });
    return conn;
  }

  private session(url: string, conn: Conn): LdapSession {
    const client = (): Client => {
      if (!conn.client || conn.broken) throw new ServerUnusableError('connection closed');
      return conn.client;
    };
    return {
      url,
      search: (base, options) => {
        this.requests++;
        return client().search(base, options);
      },
      bind: (dn, password) => {
        this.requests++;
        return client().bind(dn, password);
      },
    };
  }

  /** Races `promise` with a timer that destroys the connection (failing whatever else is on it). */
  private deadline<T>(promise: Promise<T>, ms: number, conn: Conn, what: string): Promise<T> {
    promise.catch(() => undefined); // if the timer wins, the late rejection is expected
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        conn.broken = true;
        conn.socket?.destroy();
        reject(new OperationTimeoutError(`${what} timed out after ${ms} ms`));
      }, ms + DEADLINE_SLACK_MS);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  private discard(server: Server, conn: Conn): void {
    conn.broken = true;
    conn.socket?.destroy();
    server.conns = server.conns.filter((c) => c !== conn);
  }

  /** Polite unbind when the server is answering, bounded so a hung server cannot hold us. */
  private async closeConn(conn: Conn): Promise<void> {
    const wasBroken = conn.broken;
    conn.broken = true;
    if (!wasBroken && conn.client?.isConnected) {
      const unbind = conn.client.unbind().catch(() => undefined);
      await Promise.race([unbind, new Promise((r) => setTimeout(r, 200).unref())]);
    }
    conn.socket?.destroy();
  }
}

/** TCP (or TLS for ldaps://) connection with its own deadline, resolved once usable. */
function openSocket(url: string, timeoutMs: number, tlsOptions?: tls.ConnectionOptions): Promise<net.Socket> {
  const parsed = new URL(url);
  const secure = parsed.protocol === 'ldaps:';
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(parsed.port) || (secure ? 636 : 389);
  return new Promise((resolve, reject) => {
    const socket = secure
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ...tlsOptions })
      : net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new OperationTimeoutError(`connect timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const onError = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('error', onError);
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.removeListener('error', onError);
      // Until ldapts attaches its own handler, an error must not become an uncaught exception.
      socket.on('error', () => undefined);
      socket.setNoDelay(true);
      // Notices a peer that vanished (host down, NAT state lost) on an idle pooled connection.
      socket.setKeepAlive(true, 30_000);
      resolve(socket);
    });
  });
}
