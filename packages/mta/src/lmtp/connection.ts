// One LMTP client connection (RFC 2033): reads replies line by line, sends commands, and runs
// a transaction with per-recipient results. No retries or pooling here (see pool.ts); every
// failure is an LmtpConnectionError and the connection is not reused after one.
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';

export class LmtpConnectionError extends Error {
  override readonly name = 'LmtpConnectionError';
  constructor(
    message: string,
    /** Whether the server may have received the message data (DATA was started). */
    readonly afterData = false,
  ) {
    super(message);
  }
}

export interface LmtpReply {
  code: number;
  /** Every line joined with a space, codes stripped but the first: "452 4.2.2 Mailbox over quota". */
  text: string;
}

export interface LmtpRecipient {
  address: string;
  params: string[];
}

export interface LmtpTransaction {
  from: string;
  mailParams: string[];
  recipients: LmtpRecipient[];
  message: () => Readable;
}

export interface LmtpOptions {
  host: string;
  port: number;
  /** Our name, for LHLO. */
  lhlo: string;
  connectTimeoutMs: number;
  replyTimeoutMs: number;
}

const MAX_REPLY_LINE = 4096;

export class LmtpConnection {
  capabilities = new Set<string>();
  private buf = '';
  private lines: string[] = [];
  private waiter: ((line: string | null) => void) | undefined;
  private closed = false;
  lastUsed = Date.now();

  private constructor(private readonly socket: Socket, private readonly opts: LmtpOptions) {
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

  static async open(opts: LmtpOptions): Promise<LmtpConnection> {
    const socket = connect({ host: opts.host, port: opts.port });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new LmtpConnectionError(`connect to ${opts.host}:${opts.port} timed out`));
      }, opts.connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new LmtpConnectionError(`connect to ${opts.host}:${opts.port}: ${err.message}`));
      });
    });
    const c = new LmtpConnection(socket, opts);
    try {
      const greeting = await c.reply();
      if (greeting.code !== 220) throw new LmtpConnectionError(`greeting: ${greeting.text}`);
      const lhlo = await c.command(`LHLO ${opts.lhlo}`);
      if (lhlo.code !== 250) throw new LmtpConnectionError(`LHLO: ${lhlo.text}`);
      c.capabilities = new Set(lhlo.lines.slice(1).map((l) => l.split(' ')[0]!.toUpperCase()));
    } catch (err) {
      c.close();
      throw err;
    }
    return c;
  }

  private line(): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.closed) return Promise.reject(new LmtpConnectionError('connection closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        this.close();
        reject(new LmtpConnectionError(`no reply within ${this.opts.replyTimeoutMs} ms`));
      }, this.opts.replyTimeoutMs);
      this.waiter = (x) => {
        clearTimeout(timer);
        if (x === null) reject(new LmtpConnectionError('connection closed'));
        else resolve(x);
      };
    });
  }

  /** One reply, multi-line aware. */
  async reply(): Promise<LmtpReply & { lines: string[] }> {
    const lines: string[] = [];
    for (;;) {
      const l = await this.line();
      if (!/^\d{3}[ -]/.test(l) && !/^\d{3}$/.test(l)) throw new LmtpConnectionError(`bad reply line: ${l.slice(0, 100)}`);
      lines.push(l.slice(4));
      if (l[3] !== '-') {
        const code = Number(l.slice(0, 3));
        return { code, text: `${code} ${lines.join(' ')}`.trim(), lines };
      }
    }
  }

  private write(text: string): void {
    if (!this.usable) throw new LmtpConnectionError('connection closed');
    this.socket.write(text);
  }

  async command(line: string): Promise<LmtpReply & { lines: string[] }> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  /**
   * MAIL, every RCPT (pipelined), DATA and one reply per accepted recipient. Returns the reply
   * for each recipient, in order: the RCPT refusal, or the post-DATA answer.
   */
  async transaction(t: LmtpTransaction): Promise<LmtpReply[]> {
    this.lastUsed = Date.now();
    const pipelining = this.capabilities.has('PIPELINING');
    const mailLine = `MAIL FROM:<${t.from}>${t.mailParams.map((p) => ` ${p}`).join('')}\r\n`;
    const rcptLines = t.recipients.map((r) => `RCPT TO:<${r.address}>${r.params.map((p) => ` ${p}`).join('')}\r\n`);
    let mail: LmtpReply;
    const rcpt: LmtpReply[] = [];
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
    const out: LmtpReply[] = [];
    for (let i = 0; i < rcpt.length; i += 1) {
      if (!accepted[i]) out.push(rcpt[i]!);
      else {
        try {
          out.push(await this.reply());
        } catch (err) {
          throw new LmtpConnectionError((err as Error).message, true);
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
        if (!this.usable) throw new LmtpConnectionError('connection closed during DATA', true);
        if (!this.socket.write(out)) await new Promise<void>((r) => this.socket.once('drain', r));
      }
    } catch (err) {
      this.close();
      if (err instanceof LmtpConnectionError) throw err;
      throw new LmtpConnectionError(`reading the spooled message: ${(err as Error).message}`, true);
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
