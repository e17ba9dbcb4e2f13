// A small raw LMTP client for tests that need every reply line exactly (nodemailer hides some).
import { connect, type Socket } from 'node:net';

export class LmtpClient {
  private buf = '';
  private waiters: Array<(line: string) => void> = [];
  private lines: string[] = [];
  private ended = false;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\r\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        const w = this.waiters.shift();
        if (w) w(line);
        else this.lines.push(line);
      }
    });
    socket.on('close', () => {
      this.ended = true;
      for (const w of this.waiters.splice(0)) w('<closed>');
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number, host = '127.0.0.1'): Promise<{ client: LmtpClient; greeting: string }> {
    const socket = connect({ port, host });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new LmtpClient(socket);
    return { client, greeting: await client.line() };
  }

  get closed(): boolean {
    return this.ended;
  }

  line(timeoutMs = 10000): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.ended) return Promise.resolve('<closed>');
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no reply from the LMTP server')), timeoutMs);
      this.waiters.push((x) => {
        clearTimeout(t);
        resolve(x);
      });
    });
  }

  /** One whole reply (all continuation lines), joined with \n. */
  async reply(): Promise<string> {
    const out: string[] = [];
    for (;;) {
      const l = await this.line();
      out.push(l);
      if (l === '<closed>' || l[3] !== '-') return out.join('\n');
    }
  }

  write(text: string | Buffer): void {
    this.socket.write(text);
  }

  async command(cmd: string): Promise<string> {
    this.write(`${cmd}\r\n`);
    return this.reply();
  }

  /** MAIL, RCPTs, DATA and the message; returns the RCPT replies and one reply per accepted RCPT. */
  async transaction(from: string, rcpts: string[], message: string | Buffer, mailParams = ''): Promise<{ mail: string; rcpt: string[]; data: string[] }> {
    const mail = await this.command(`MAIL FROM:<${from}>${mailParams ? ` ${mailParams}` : ''}`);
    const rcpt: string[] = [];
    for (const r of rcpts) rcpt.push(await this.command(`RCPT TO:${r}`));
    const go = await this.command('DATA');
    if (!go.startsWith('354')) return { mail, rcpt, data: [go] };
    const body = Buffer.isBuffer(message) ? message : Buffer.from(message, 'latin1');
    this.write(Buffer.concat([dotStuff(body), Buffer.from('.\r\n')]));
    const data: string[] = [];
    for (const r of rcpt) if (r.startsWith('2')) data.push(await this.reply());
    return { mail, rcpt, data };
  }

  async close(): Promise<void> {
    if (!this.ended) {
      this.write('QUIT\r\n');
      await this.reply().catch(() => undefined);
    }
    this.socket.destroy();
  }
}

/** Dot-stuff a CRLF message and make sure it ends with CRLF. */
export function dotStuff(msg: Buffer): Buffer {
  let text = msg.toString('latin1');
  if (!text.endsWith('\r\n')) text += '\r\n';
  return Buffer.from(text.replace(/(^|\r\n)\./g, '$1..'), 'latin1');
}

export function message(subject: string, body = 'Hello.\r\n', extra = ''): string {
  return `From: sender@example.org\r\nTo: alice@example.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}.${Date.now()}@example.org>\r\n${extra}\r\n${body}`;
}
