// Thin socket code around ImapSession: bytes in, responses out, and the limits that belong to
// a connection (idle timeout, input buffered while a command runs, output the peer has not
// read, connections in all and per address). The protocol lives in session.ts; plain TCP here,
// STARTTLS and implicit TLS come later.
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from '@tiermail/core';
import { ImapSession, type ImapSessionOptions, type ResponseSink } from './session.js';
import type { Authenticator, ImapStore } from './state.js';

export interface ImapServerOptions extends Omit<ImapSessionOptions, 'store' | 'authenticate' | 'logger'> {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  authenticate: Authenticator;
  /** Autologout after this long without a command (RFC 3501 5.4: at least 30 min).
   * @defaultValue 1800000 */
  idleTimeoutMs?: number;
  /** @defaultValue 10000 */
  maxConnections?: number;
  /** Connections from one address at once; 0 for no limit. @defaultValue 100 */
  maxConnectionsPerAddress?: number;
  /** Input held while a command runs before reading pauses. @defaultValue 1048576 */
  maxBufferedInputBytes?: number;
  logger?: Logger;
}

export interface ImapServer {
  server: Server;
  port: number;
  /** Open connections. */
  connections(): number;
  /** Stops accepting, lets running commands finish, says BYE; destroys what is left after graceMs. */
  close(graceMs?: number): Promise<void>;
}

let nextConnId = 1;

/** Buffers a command's responses and writes them in one go; flush() waits while the peer lags. */
class SocketSink implements ResponseSink {
  private parts: Array<string | Buffer> = [];

  constructor(private readonly socket: Socket) {}

  write(data: string | Buffer): void {
    this.parts.push(data);
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const data = Buffer.concat(this.parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
    this.parts = [];
    if (this.socket.destroyed || !this.socket.writable) return;
    if (!this.socket.write(data)) {
      await Promise.race([once(this.socket, 'drain'), once(this.socket, 'close')]).catch(() => undefined);
    }
  }
}

class Connection {
  readonly session: ImapSession;
  private readonly sink: SocketSink;
  private busy = false;
  private closing = false;
  private shuttingDown = false;

  constructor(
    private readonly socket: Socket,
    store: ImapStore,
    private readonly opts: ImapServerOptions,
    logger: Logger | undefined,
  ) {
    this.sink = new SocketSink(socket);
    this.session = new ImapSession({ ...opts, store, ...(logger ? { logger } : {}) }, this.sink);
    socket.setNoDelay(true);
    socket.setTimeout(opts.idleTimeoutMs ?? 30 * 60_000, () => {
      if (this.busy) return; // a long command is not idleness; the next timeout will tell
      this.session.bye('Autologout; idle for too long');
      void this.sink.flush().then(() => this.end());
    });
    socket.on('data', (chunk: Buffer) => {
      this.session.push(chunk);
      if (this.busy && this.session.bufferedBytes > (opts.maxBufferedInputBytes ?? 1024 * 1024)) socket.pause();
      void this.pump();
    });
    socket.on('error', (err) => logger?.debug({ err }, 'imap socket error'));
    socket.on('close', () => {
      this.closing = true;
      if (!this.busy) this.session.release();
    });
    this.session.greeting();
    void this.sink.flush();
  }

  /** Server shutdown: BYE now if idle, else once the running command has answered. */
  shutdown(): void {
    this.shuttingDown = true;
    if (!this.busy) this.sayByeAndEnd();
  }

  private sayByeAndEnd(): void {
    this.session.bye('Server shutting down');
    void this.sink.flush().then(() => this.end());
  }

  private end(): void {
    this.closing = true;
    this.session.release();
    this.socket.end();
  }

  private async pump(): Promise<void> {
    if (this.busy || this.closing) return;
    this.busy = true;
    try {
      await this.session.run();
    } catch (err) {
      this.opts.logger?.error({ err }, 'imap connection failed');
      this.session.bye('Internal error, closing connection');
      await this.sink.flush();
    } finally {
      this.busy = false;
    }
    if (this.session.closed || this.closing) this.end();
    else if (this.shuttingDown) this.sayByeAndEnd();
    else if (this.socket.isPaused()) this.socket.resume();
  }
}

export async function startImapServer(store: ImapStore, opts: ImapServerOptions): Promise<ImapServer> {
  const connections = new Map<Socket, Connection>();
  const perAddress = new Map<string, number>();
  const maxPerAddress = opts.maxConnectionsPerAddress ?? 100;
  const server = createServer((socket) => {
    const remote = socket.remoteAddress ?? '';
    const count = (perAddress.get(remote) ?? 0) + 1;
    if (maxPerAddress > 0 && count > maxPerAddress) {
      opts.logger?.warn({ remote }, 'imap connection refused: too many from this address');
      socket.end('* BYE Too many connections from your address\r\n');
      return;
    }
    perAddress.set(remote, count);
    const connId = nextConnId++;
    const logger = opts.logger?.child({ connId, remote });
    connections.set(socket, new Connection(socket, store, opts, logger));
    socket.on('close', () => {
      connections.delete(socket);
      const n = (perAddress.get(remote) ?? 1) - 1;
      if (n <= 0) perAddress.delete(remote);
      else perAddress.set(remote, n);
    });
  });
  server.maxConnections = opts.maxConnections ?? 10000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    connections: () => connections.size,
    close: (graceMs = 30000) =>
      new Promise((resolve) => {
        server.close();
        for (const c of connections.values()) c.shutdown();
        const done = (): void => {
          clearInterval(poll);
          clearTimeout(timer);
          resolve();
        };
        const poll = setInterval(() => {
          if (connections.size === 0) done();
        }, 20);
        const timer = setTimeout(() => {
          for (const s of connections.keys()) s.destroy();
          done();
        }, graceMs);
        if (connections.size === 0) done();
      }),
  };
}
