// Thin socket code around Pop3Session: lines in (CRLF or LF, at most 1 KiB: RFC 2449 allows
// 255 octets per argument), replies out, message bodies streamed from their files with
// backpressure and dot-stuffing, STLS and implicit TLS, idle timeout, connections per address,
// graceful close.
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Server, Socket } from 'node:net';
import { createSecureContext, TLSSocket, type SecureContext, type SecureContextOptions } from 'node:tls';
import { closeGracefully, listen, type Logger } from '@tiermail/core';

import type { LoginPolicy } from '../access/login.js';
import type { UserSessionLimit } from '../access/user-limit.js';
import type { MessageStore } from '../engine/index.js';
import type { EventSink } from '../events.js';
import { DotStuffer } from './dot-stuff.js';
import { MaildropLocks } from './lock.js';
import { Pop3Session, type Pop3Action } from './session.js';

export interface Pop3ServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  login: LoginPolicy;
  /** Where the maildrop lock files live (shared by the store's workers). */
  lockDir: string;
  hostname?: string;
  tls?: SecureContextOptions;
  implicitTls?: boolean;
  /** RFC 1939: at least 10 minutes. @defaultValue 600000 */
  idleTimeoutMs?: number;
  maxConnections?: number;
  /** @defaultValue 100 */
  maxConnectionsPerAddress?: number;
  /** @defaultValue 1000 */
  authFailureDelayMs?: number;
  userLimit?: UserSessionLimit;
  events?: EventSink;
  logger?: Logger;
}

export interface Pop3Server {
  server: Server;
  port: number;
  connections(): number;
  close(graceMs?: number): Promise<void>;
}

const MAX_LINE = 1024;

async function write(socket: Socket, data: string | Buffer): Promise<void> {
  if (socket.destroyed) return;
  if (!socket.write(data)) await Promise.race([once(socket, 'drain'), once(socket, 'close')]).catch(() => undefined);
}

/** TOP: the header, the blank line, and the first `lines` lines of the body. */
function topOf(msg: Buffer, lines: number): Buffer {
  const crlf = msg.indexOf('\r\n\r\n');
  const lf = msg.indexOf('\n\n');
  const headerEnd = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 4 : lf >= 0 ? lf + 2 : msg.length;
  let end = headerEnd;
  for (let i = 0; i < lines && end < msg.length; i++) {
    const nl = msg.indexOf(0x0a, end);
    end = nl < 0 ? msg.length : nl + 1;
  }
  return msg.subarray(0, end);
}

class Connection {
  readonly session: Pop3Session;
  private socket: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private discarding = false;
  private busy = false;
  private closing = false;
  private lines: string[] = [];

  constructor(
    raw: Socket,
    private readonly opts: Pop3ServerOptions,
    store: Pick<MessageStore, 'openUser'>,
    locks: MaildropLocks,
    private readonly tlsContext: SecureContext | undefined,
  ) {
    this.socket = raw;
    this.session = new Pop3Session({
      store,
      login: opts.login,
      locks,
      remoteAddress: raw.remoteAddress ?? '',
      secure: opts.implicitTls === true,
      startTls: opts.tls !== undefined && opts.implicitTls !== true,
      hostname: opts.hostname ?? 'tiermail',
      authFailureDelayMs: opts.authFailureDelayMs ?? 1000,
      maxAuthFailures: 3,
      ...(opts.userLimit ? { userLimit: opts.userLimit } : {}),
      ...(opts.events ? { events: opts.events } : {}),
    });
    raw.on('close', () => this.session.release());
    this.attach(raw);
    void write(raw, `${this.session.greeting()}\r\n`);
  }

  private attach(socket: Socket): void {
    this.socket = socket;
    socket.setTimeout(this.opts.idleTimeoutMs ?? 600_000, () => {
      if (this.busy) return;
      void write(socket, '-ERR Autologout; idle for too long\r\n').then(() => this.end());
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.opts.logger?.debug({ err: e }, 'pop3 socket error'));
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0) {
        if (this.buf.length > MAX_LINE) {
          // Too long: answer once, drop bytes until the line ends.
          if (!this.discarding) this.lines.push('\u0000too-long');
          this.discarding = true;
          this.buf = Buffer.alloc(0);
        }
        break;
      }
      const line = this.buf.subarray(0, nl).toString('latin1').replace(/\r$/, '');
      this.buf = this.buf.subarray(nl + 1);
      if (this.discarding) {
        this.discarding = false;
        continue;
      }
      this.lines.push(nl > MAX_LINE ? '\u0000too-long' : line);
    }
    if (this.lines.length > 16) this.socket.pause();
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.busy || this.closing) return;
    this.busy = true;
    try {
      while (this.lines.length > 0 && !this.closing) {
        const line = this.lines.shift()!;
        const action: Pop3Action =
          line === '\u0000too-long' ? { kind: 'reply', text: '-ERR Line too long' } : line.includes('\u0000') ? { kind: 'reply', text: '-ERR Invalid characters' } : await this.session.command(line);
        await this.perform(action);
      }
    } catch (err) {
      this.opts.logger?.error({ err }, 'pop3 connection failed');
      await write(this.socket, '-ERR [SYS/TEMP] Internal error\r\n');
      this.end();
    } finally {
      this.busy = false;
    }
    if (!this.closing && this.socket.isPaused()) this.socket.resume();
  }

  private async perform(a: Pop3Action): Promise<void> {
    switch (a.kind) {
      case 'reply':
        return write(this.socket, `${a.text}\r\n`);
      case 'close':
        await write(this.socket, `${a.text}\r\n`);
        return this.end();
      case 'message':
        return this.sendMessage(a.head, a.path, a.lines);
      case 'starttls':
        await write(this.socket, `${a.text}\r\n`);
        return this.startTls();
    }
  }

  private async sendMessage(head: string, path: string, lines?: number): Promise<void> {
    let source: AsyncIterable<Buffer> | Iterable<Buffer>;
    try {
      if (lines === undefined) {
        const stream = createReadStream(path);
        // Opened before the +OK goes out: a message expunged meanwhile is an -ERR, not a cut.
        await once(stream, 'open');
        source = stream as AsyncIterable<Buffer>;
      } else {
        source = [topOf(await readFile(path), lines)];
      }
    } catch {
      return write(this.socket, '-ERR Message was removed by another client\r\n');
    }
    await write(this.socket, `${head}\r\n`);
    const stuffer = new DotStuffer();
    for await (const chunk of source) await write(this.socket, stuffer.push(chunk));
    await write(this.socket, stuffer.end());
  }

  private async startTls(): Promise<void> {
    const raw = this.socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('timeout');
    raw.setTimeout(0);
    this.buf = Buffer.alloc(0);
    this.lines = []; // RFC 2595: nothing sent before the handshake counts
    const secure = new TLSSocket(raw, { isServer: true, secureContext: this.tlsContext! });
    const ok = await new Promise<boolean>((resolve) => {
      secure.once('secure', () => resolve(true));
      secure.once('error', () => resolve(false));
    });
    if (!ok) {
      secure.destroy();
      return;
    }
    this.session.tlsStarted();
    this.attach(secure);
  }

  shutdown(): void {
    if (this.busy) return; // the running command finishes; the socket closes after grace
    void write(this.socket, '-ERR Server shutting down\r\n').then(() => this.end());
  }

  end(): void {
    this.closing = true;
    this.session.release();
    this.socket.end();
  }
}

export async function startPop3Server(store: Pick<MessageStore, 'openUser'>, opts: Pop3ServerOptions): Promise<Pop3Server> {
  const locks = new MaildropLocks(opts.lockDir);
  const tlsContext = opts.tls ? createSecureContext(opts.tls) : undefined;
  const l = await listen(
    {
      host: opts.host,
      port: opts.port,
      ...(opts.tls ? { tls: opts.tls } : {}),
      ...(opts.implicitTls ? { implicitTls: true } : {}),
      ...(opts.maxConnections !== undefined ? { maxConnections: opts.maxConnections } : {}),
      ...(opts.maxConnectionsPerAddress !== undefined ? { maxConnectionsPerAddress: opts.maxConnectionsPerAddress } : {}),
      tooManyReply: '-ERR [SYS/TEMP] Too many connections from your address\r\n',
      protocol: 'pop3',
      ...(opts.logger ? { logger: opts.logger } : {}),
    },
    (socket) => new Connection(socket, opts, store, locks, tlsContext),
  );
  return {
    server: l.server,
    port: l.port,
    connections: () => l.connections.size,
    close: (graceMs = 30000) => closeGracefully(l.server, l.connections, graceMs, (c) => c.shutdown()),
  };
}
