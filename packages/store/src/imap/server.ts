// Thin socket code around ImapSession: bytes in, responses out, and the limits that belong to
// a connection (idle timeout, input buffered while a command runs, output the peer has not
// read, connections in all and per address), STARTTLS and implicit TLS. The protocol lives in
// session.ts.
import { once } from 'node:events';
import type { Server, Socket } from 'node:net';
import { createSecureContext, TLSSocket, type SecureContext, type SecureContextOptions, type TlsOptions } from 'node:tls';
import { closeGracefully, listen, type Logger } from '@tiermail/core';

import { ImapSession, type ImapSessionOptions, type ResponseSink } from './session.js';
import type { ImapStore } from './state.js';

export interface ImapServerOptions extends Omit<ImapSessionOptions, 'store' | 'logger' | 'remoteAddress' | 'secure' | 'startTls'> {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Certificate and key (PEM): STARTTLS is offered (or, with implicitTls, every connection is TLS). */
  tls?: SecureContextOptions;
  /** Extra options of the server side of TLS (minVersion comes from the context). */
  tlsOptions?: Pick<TlsOptions, 'requestCert' | 'rejectUnauthorized'>;
  /** TLS from the first byte (port 993). @defaultValue false */
  implicitTls?: boolean;
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

/** Buffers a command's responses and writes them in one go; flush() waits while the peer lags. */
class SocketSink implements ResponseSink {
  private parts: Array<string | Buffer> = [];

  /** Replaced by the TLS socket after STARTTLS. */
  constructor(public socket: Socket) {}

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
  private socket: Socket;
  private busy = false;
  private closing = false;
  private shuttingDown = false;

  constructor(
    raw: Socket,
    store: ImapStore,
    private readonly opts: ImapServerOptions,
    private readonly logger: Logger | undefined,
    private readonly tlsContext: SecureContext | undefined,
  ) {
    this.socket = raw;
    this.sink = new SocketSink(raw);
    this.session = new ImapSession(
      {
        ...opts,
        store,
        remoteAddress: raw.remoteAddress ?? '',
        secure: opts.implicitTls === true,
        startTls: opts.tls !== undefined && opts.implicitTls !== true,
        ...(logger ? { logger } : {}),
        onEvict: (text: string) => {
          this.session.bye(text);
          void this.sink.flush().then(() => this.end());
        },
      },
      this.sink,
    );
    raw.setNoDelay(true);
    opts.metrics?.connectionOpened();
    // The raw socket closes whether or not TLS was started on top of it.
    raw.on('close', () => {
      opts.metrics?.connectionClosed();
      this.closing = true;
      if (!this.busy) this.session.release();
    });
    this.attach(raw);
    this.session.greeting();
    void this.sink.flush();
  }

  private attach(socket: Socket): void {
    this.socket = socket;
    this.sink.socket = socket;
    socket.setTimeout(this.opts.idleTimeoutMs ?? 30 * 60_000, () => {
      if (this.busy) return; // a long command is not idleness; the next timeout will tell
      this.session.bye('Autologout; idle for too long');
      void this.sink.flush().then(() => this.end());
    });
    socket.on('data', (chunk: Buffer) => {
      this.session.push(chunk);
      if (this.busy && this.session.bufferedBytes > (this.opts.maxBufferedInputBytes ?? 1024 * 1024)) socket.pause();
      void this.pump();
    });
    socket.on('error', (err) => this.logger?.debug({ err }, 'imap socket error'));
  }

  /** STARTTLS: the tagged OK has been flushed; hand the socket to TLS and wait for the handshake. */
  private async startTls(): Promise<void> {
    const raw = this.socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('timeout');
    raw.setTimeout(0);
    const secure = new TLSSocket(raw, { isServer: true, secureContext: this.tlsContext!, ...(this.opts.tlsOptions ?? {}) });
    const handshake = new Promise<boolean>((resolve) => {
      secure.once('secure', () => resolve(true));
      secure.once('error', (err) => {
        this.logger?.info({ err: err.message }, 'imap STARTTLS handshake failed');
        resolve(false);
      });
      secure.setTimeout(30_000, () => resolve(false));
    });
    this.session.tlsStarted();
    this.attach(secure);
    if (!(await handshake)) {
      secure.destroy();
      return;
    }
    this.logger?.debug({ protocol: secure.getProtocol() }, 'imap TLS started');
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
      if (this.session.tlsRequested) await this.startTls();
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
  // Built once: a context per connection would redo the key parsing every time.
  const tlsContext = opts.tls ? createSecureContext(opts.tls) : undefined;
  let nextId = 1;
  const l = await listen(
    {
      host: opts.host,
      port: opts.port,
      ...(opts.tls ? { tls: opts.tls } : {}),
      ...(opts.implicitTls ? { implicitTls: true } : {}),
      ...(opts.tlsOptions ? { tlsOptions: opts.tlsOptions } : {}),
      ...(opts.maxConnections !== undefined ? { maxConnections: opts.maxConnections } : {}),
      ...(opts.maxConnectionsPerAddress !== undefined ? { maxConnectionsPerAddress: opts.maxConnectionsPerAddress } : {}),
      tooManyReply: '* BYE Too many connections from your address\r\n',
      protocol: 'imap',
      ...(opts.logger ? { logger: opts.logger } : {}),
    },
    (socket) => new Connection(socket, store, opts, opts.logger?.child({ connId: nextId++, remote: socket.remoteAddress }), tlsContext),
  );
  return {
    server: l.server,
    port: l.port,
    connections: () => l.connections.size,
    close: (graceMs = 30000) => closeGracefully(l.server, l.connections, graceMs, (c) => c.shutdown()),
  };
}
