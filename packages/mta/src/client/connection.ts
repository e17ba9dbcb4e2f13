// One outgoing mail connection, LMTP (RFC 2033, to a store) or SMTP (RFC 5321, to a remote MX
// or a smarthost): reads replies line by line, sends commands, runs a transaction with
// per-recipient results, and upgrades to TLS with STARTTLS when asked. No retries or pooling
// here (see pool.ts); every failure is a ClientConnectionError and the connection is not reused.
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { Readable } from 'node:stream';

export class ClientConnectionError extends Error {
  override readonly name = 'ClientConnectionError';
  constructor(
    message: string,
    /** Whether the server may have received the message data (DATA was started). */
    readonly afterData = false,
    /** The server's own answer when it refused the session (greeting, EHLO), if any. */
    readonly reply?: ClientReply,
  ) {
    super(message);
  }
}

export interface ClientReply {
  code: number;
  /** Every line joined with a space, codes stripped but the first: "452 4.2.2 Mailbox over quota". */
  text: string;
}

export interface ClientRecipient {
  address: string;
  params: string[];
}

export interface ClientTransaction {
  from: string;
  mailParams: string[];
  recipients: ClientRecipient[];
  message: () => Readable;
}

/** none: never STARTTLS; opportunistic: when offered (certificate not verified); required: refuse to send without it. */
export type StartTlsMode = 'none' | 'opportunistic' | 'required';

export interface ClientOptions {
  protocol: 'lmtp' | 'smtp';
  host: string;
  port: number;
  /** Our name, for LHLO / EHLO. */
  helo: string;
  connectTimeoutMs: number;
  replyTimeoutMs: number;
  startTls?: StartTlsMode;
  /** Name for SNI and certificate checks (the MX host name); default host. */
  serverName?: string;
  /** Verify the server certificate (required mode); off for opportunistic TLS, as RFC 7435 allows. */
  verifyCertificate?: boolean;
}

const MAX_REPLY_LINE = 4096;

export class ClientConnection {
  capabilities = new Set<string>();
  private buf = '';
  private lines: string[] = [];
  private waiter: ((line: string | null) => void) | undefined;
  private closed = false;
  lastUsed = Date.now();

  private socket: Socket | TLSSocket;
  /** The session runs over TLS (STARTTLS done). */
  secure = false;

  private constructor(socket: Socket, private readonly opts: ClientOptions) {
    this.socket = socket;
    this.attach(socket);
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.setEncoding('latin1');
    socket.setNoDelay(true);
    socket.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        this.push(this.buf.slice(0, i).replace(/\r$/, ''));
        this.buf = this.buf.slice(i + 1);
      }
      if (this.buf.length > MAX_REPLY_LINE) this.fail();
    });
    socket.on('close', () => this.fail());
    socket.on('error', () => this.fail());
  }

  get usable(): boolean {
    return !this.closed && !this.socket.destroyed;
  }

  private push(line: string): void {
    const w = this.waiter;
    this.waiter = undefined;
    if (w) w(line);
    else this.lines.push(line);
  }

  private fail(): void {
    this.closed = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.(null);
  }

  static async open(opts: ClientOptions): Promise<ClientConnection> {
    const socket = connect({ host: opts.host, port: opts.port });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ClientConnectionError(`connect to ${opts.host}:${opts.port} timed out`));
      }, opts.connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new ClientConnectionError(`connect to ${opts.host}:${opts.port}: ${err.message}`));
      });
    });
    const c = new ClientConnection(socket, opts);
    try {
      const greeting = await c.reply();
      if (greeting.code !== 220) throw new ClientConnectionError(`greeting: ${greeting.text}`, false, greeting);
      await c.hello();
      const mode = opts.startTls ?? 'none';
      if (mode !== 'none' && c.capabilities.has('STARTTLS')) {
        await c.startTls();
        await c.hello();
      } else if (mode === 'required') {
        throw new ClientConnectionError(`${opts.host} does not offer STARTTLS and TLS is required`, false, {
          code: 451,
          text: '451 4.7.5 TLS required but not offered by the server',
        });
      }
    } catch (err) {
      c.close();
      throw err;
    }
    return c;
  }

  private async hello(): Promise<void> {
    const verb = this.opts.protocol === 'lmtp' ? 'LHLO' : 'EHLO';
    let r = await this.command(`${verb} ${this.opts.helo}`);
    if (r.code !== 250 && this.opts.protocol === 'smtp' && r.code >= 500) {
      // An old server without ESMTP: HELO and no extensions.
      r = await this.command(`HELO ${this.opts.helo}`);
      this.capabilities = new Set();
      if (r.code === 250) return;
    }
    if (r.code !== 250) throw new ClientConnectionError(`${verb}: ${r.text}`, false, r);
    this.capabilities = new Set(r.lines.slice(1).map((l) => l.split(' ')[0]!.toUpperCase()));
    this.extensions = r.lines.slice(1);
  }

  /** Lines of the EHLO/LHLO answer after the first ("SIZE 10240000", "PIPELINING", ...). */
  extensions: string[] = [];

  private async startTls(): Promise<void> {
    const r = await this.command('STARTTLS');
    if (r.code !== 220) {
      if (this.opts.startTls === 'required') throw new ClientConnectionError(`STARTTLS: ${r.text}`, false, r);
      return;
    }
    const plain = this.socket as Socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    plain.on('error', () => undefined); // reported through the TLS socket
    const verify = this.opts.verifyCertificate ?? this.opts.startTls === 'required';
    const secure = tlsConnect({ socket: plain, servername: this.opts.serverName ?? this.opts.host, rejectUnauthorized: verify });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ClientConnectionError('TLS handshake timed out')), this.opts.connectTimeoutMs);
      secure.once('secureConnect', () => {
        clearTimeout(timer);
        resolve();
      });
      secure.once('error', (err) => {
        clearTimeout(timer);
        reject(new ClientConnectionError(`TLS handshake with ${this.opts.host}: ${err.message}`, false, { code: 451, text: `451 4.7.5 TLS handshake failed: ${err.message}` }));
      });
    });
    this.socket = secure;
    this.secure = true;
    this.attach(secure);
  }

  private line(): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.closed) return Promise.reject(new ClientConnectionError('connection closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        this.close();
        reject(new ClientConnectionError(`no reply within ${this.opts.replyTimeoutMs} ms`));
      }, this.opts.replyTimeoutMs);
      this.waiter = (x) => {
        clearTimeout(timer);
        if (x === null) reject(new ClientConnectionError('connection closed'));
        else resolve(x);
      };
    });
  }

  /** One reply, multi-line aware. */
  async reply(): Promise<ClientReply & { lines: string[] }> {
    const lines: string[] = [];
    for (;;) {
      const l = await this.line();
      if (!/^\d{3}[ -]/.test(l) && !/^\d{3}$/.test(l)) throw new ClientConnectionError(`bad reply line: ${l.slice(0, 100)}`);
      lines.push(l.slice(4));
      if (l[3] !== '-') {
        const code = Number(l.slice(0, 3));
        return { code, text: `${code} ${lines.join(' ')}`.trim(), lines };
      }
    }
  }

  private write(text: string): void {
    if (!this.usable) throw new ClientConnectionError('connection closed');
    this.socket.write(text);
  }

  async command(line: string): Promise<ClientReply & { lines: string[] }> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  /**
   * MAIL, every RCPT (pipelined), DATA and one reply per accepted recipient. Returns the reply
   * for each recipient, in order: the RCPT refusal, or the post-DATA answer.
   */
  async transaction(t: ClientTransaction): Promise<ClientReply[]> {
    this.lastUsed = Date.now();
    const pipelining = this.capabilities.has('PIPELINING');
    const mailLine = `MAIL FROM:<${t.from}>${t.mailParams.map((p) => ` ${p}`).join('')}\r\n`;
    const rcptLines = t.recipients.map((r) => `RCPT TO:<${r.address}>${r.params.map((p) => ` ${p}`).join('')}\r\n`);
    let mail: ClientReply;
    const rcpt: ClientReply[] = [];
    if (pipelining) {
      this.write(mailLine + rcptLines.join(''));
      mail = await this.reply();
      for (let i = 0; i < rcptLines.length; i += 1) rcpt.push(await this.reply());
    } else {
      this.write(mailLine);
      mail = await this.reply();
      if (mail.code === 250) {
        for (const l of rcptLines) {
          this.write(l);
          rcpt.push(await this.reply());
        }
      }
    }
    if (mail.code !== 250) {
      // The sender was refused: that answer is every recipient's answer.
      await this.command('RSET').catch(() => undefined);
      return t.recipients.map(() => ({ code: mail.code, text: mail.text }));
    }
    const accepted = rcpt.map((r) => r.code >= 200 && r.code < 300);
    if (!accepted.some(Boolean)) {
      await this.command('RSET');
      return rcpt;
    }
    const go = await this.command('DATA');
    if (go.code !== 354) {
      await this.command('RSET').catch(() => undefined);
      return rcpt.map((r, i) => (accepted[i] ? { code: go.code, text: go.text } : r));
    }
    await this.sendData(t.message());
    if (this.opts.protocol === 'smtp') {
      // SMTP answers once for the whole transaction: that answer is every accepted recipient's.
      let final: ClientReply;
      try {
        final = await this.reply();
      } catch (err) {
        throw new ClientConnectionError((err as Error).message, true);
      }
      this.lastUsed = Date.now();
      return rcpt.map((r, i) => (accepted[i] ? final : r));
    }
    const out: ClientReply[] = [];
    for (let i = 0; i < rcpt.length; i += 1) {
      if (!accepted[i]) out.push(rcpt[i]!);
      else {
        try {
          out.push(await this.reply());
        } catch (err) {
          throw new ClientConnectionError((err as Error).message, true);
        }
      }
    }
    this.lastUsed = Date.now();
    return out;
  }

  /** Streams the message dot-stuffed and ends it with CRLF.CRLF, honouring backpressure. */
  private async sendData(message: Readable): Promise<void> {
    let atLineStart = true;
    let lastTwo = '';
    try {
      for await (const chunk of message as AsyncIterable<Buffer>) {
        const out = stuff(chunk, atLineStart);
        atLineStart = chunk.length > 0 ? chunk[chunk.length - 1] === 0x0a : atLineStart;
        if (chunk.length >= 2) lastTwo = chunk.subarray(-2).toString('latin1');
        else if (chunk.length === 1) lastTwo = (lastTwo + chunk.toString('latin1')).slice(-2);
        if (!this.usable) throw new ClientConnectionError('connection closed during DATA', true);
        if (!this.socket.write(out)) await new Promise<void>((r) => this.socket.once('drain', r));
      }
    } catch (err) {
      this.close();
      if (err instanceof ClientConnectionError) throw err;
      throw new ClientConnectionError(`reading the spooled message: ${(err as Error).message}`, true);
    }
    this.write(lastTwo === '\r\n' ? '.\r\n' : '\r\n.\r\n');
  }

  async quit(): Promise<void> {
    if (this.usable) await this.command('QUIT').catch(() => undefined);
    this.close();
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

/** Doubles a "." at the start of each line (RFC 5321 4.5.2). */
export function stuff(chunk: Buffer, atLineStart: boolean): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  let lineStart = atLineStart;
  for (let i = 0; i < chunk.length; i += 1) {
    if (lineStart && chunk[i] === 0x2e) {
      parts.push(chunk.subarray(start, i), Buffer.from('.'));
      start = i;
    }
    lineStart = chunk[i] === 0x0a;
  }
  if (parts.length === 0) return chunk;
  parts.push(chunk.subarray(start));
  return Buffer.concat(parts);
}
