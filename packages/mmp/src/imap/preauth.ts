// The MMP's IMAP conversation before login (RFC 3501 states "not authenticated"): bytes in,
// responses and one final decision out. Only what a client needs before login is understood:
// CAPABILITY, NOOP, LOGOUT, ID, STARTTLS, LOGIN and AUTHENTICATE PLAIN (SASL-IR and the
// continuation). Arguments may be atoms, quoted strings or literals ({n} and {n+}); a command
// is at most 8 KiB. Once a login is accepted the proxy takes over the socket and never parses
// another byte.

export type PreAuthAction =
  | { kind: 'send'; text: string }
  | { kind: 'login'; tag: string; user: string; password: string; authzid: string }
  | { kind: 'starttls'; tag: string }
  | { kind: 'close' };

const MAX_COMMAND = 8192;

function tokenize(text: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === ' ') {
      i++;
      continue;
    }
    if (text[i] === '"') {
      let v = '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\') i++;
        v += text[i++] ?? '';
      }
      if (i >= text.length) return null;
      i++;
      out.push(v);
    } else if (text[i] === '\u0000') {
      // A literal, already inlined by the receiver as NUL + length + ':' + bytes.
      const colon = text.indexOf(':', i);
      const n = Number(text.slice(i + 1, colon));
      out.push(text.slice(colon + 1, colon + 1 + n));
      i = colon + 1 + n;
    } else {
      let v = '';
      while (i < text.length && text[i] !== ' ') v += text[i++];
      out.push(v);
    }
  }
  return out;
}

export class PreAuth {
  private buf: Buffer = Buffer.alloc(0);
  /** The command being received, literals inlined. */
  private partial = '';
  private literal: { n: number } | null = null;
  /** AUTHENTICATE PLAIN waiting for its response line. */
  private sasl: string | null = null;
  bad = 0;

  constructor(
    private readonly caps: () => string[],
    private readonly hostname: string,
  ) {}

  greeting(): string {
    return `* OK [CAPABILITY ${this.caps().join(' ')}] ${this.hostname} IMAP4rev1 proxy ready\r\n`;
  }

  push(chunk: Buffer): PreAuthAction[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: PreAuthAction[] = [];
    for (;;) {
      if (this.literal) {
        if (this.buf.length < this.literal.n) break;
        const data = this.buf.subarray(0, this.literal.n).toString('latin1');
        this.buf = this.buf.subarray(this.literal.n);
        this.partial += `\u0000${this.literal.n}:${data}`;
        this.literal = null;
        continue;
      }
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0) {
        if (this.buf.length + this.partial.length > MAX_COMMAND) {
          out.push({ kind: 'send', text: '* BAD Command line too long\r\n' }, { kind: 'close' });
          return out;
        }
        break;
      }
      const line = this.buf.subarray(0, nl).toString('latin1').replace(/\r$/, '');
      this.buf = this.buf.subarray(nl + 1);
      const lit = /\{(\d{1,20})(\+?)\}$/.exec(line);
      if (lit && this.sasl === null) {
        const n = Number(lit[1]);
        if (n + this.partial.length + line.length > MAX_COMMAND) {
          out.push({ kind: 'send', text: '* BAD Literal too long\r\n' }, { kind: 'close' });
          return out;
        }
        this.partial += line.slice(0, lit.index);
        this.literal = { n };
        if (!lit[2]) out.push({ kind: 'send', text: '+ Ready for literal data\r\n' });
        continue;
      }
      const full = this.partial + line;
      this.partial = '';
      const actions = this.command(full);
      out.push(...actions);
      if (actions.some((a) => a.kind !== 'send')) return out;
    }
    return out;
  }

  /** Bytes the client sent after the command that ended the pre-auth phase (none for LOGIN:
   * a client must wait for the answer; any extra bytes are passed on to the store). */
  rest(): Buffer {
    return this.buf;
  }

  private command(line: string): PreAuthAction[] {
    if (this.sasl !== null) {
      const tag = this.sasl;
      this.sasl = null;
      return this.plain(tag, line.trim());
    }
    if (/[\u0001-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(line.replace(/\u0000\d+:/g, ''))) return this.badLine('*', 'Invalid characters');
    const t = tokenize(line);
    if (!t || t.length < 2 || !/^[\x21-\x7e]+$/.test(t[0]!) || t[0]!.includes('{')) return this.badLine('*', 'Missing or invalid tag');
    const [tag, name = '', ...args] = t as [string, string, ...string[]];
    switch (name.toUpperCase()) {
      case 'CAPABILITY':
        return [{ kind: 'send', text: `* CAPABILITY ${this.caps().join(' ')}\r\n${tag} OK CAPABILITY completed\r\n` }];
      case 'NOOP':
        return [{ kind: 'send', text: `${tag} OK NOOP completed\r\n` }];
      case 'ID':
        return [{ kind: 'send', text: `* ID ("name" "tiermail-mmp")\r\n${tag} OK ID completed\r\n` }];
      case 'LOGOUT':
        return [{ kind: 'send', text: `* BYE Logging out\r\n${tag} OK LOGOUT completed\r\n` }, { kind: 'close' }];
      case 'STARTTLS':
        return [{ kind: 'starttls', tag }];
      case 'LOGIN':
        if (args.length !== 2) return this.badLine(tag, 'LOGIN needs a user name and a password');
        return [{ kind: 'login', tag, user: args[0]!, password: args[1]!, authzid: '' }];
      case 'AUTHENTICATE': {
        if ((args[0] ?? '').toUpperCase() !== 'PLAIN') return [{ kind: 'send', text: `${tag} NO [CANNOT] Unsupported authentication mechanism\r\n` }];
        if (args[1] !== undefined) return this.plain(tag, args[1]);
        this.sasl = tag;
        return [{ kind: 'send', text: '+ \r\n' }];
      }
      default:
        return this.badLine(tag, `${name.toUpperCase()} is not allowed before login`);
    }
  }

  private plain(tag: string, b64: string): PreAuthAction[] {
    if (b64 === '*') return [{ kind: 'send', text: `${tag} BAD Authentication cancelled\r\n` }];
    const text = b64 === '=' ? '' : b64;
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return this.badLine(tag, 'Invalid base64 data');
    const parts = Buffer.from(text, 'base64').toString('utf8').split('\0');
    if (parts.length !== 3) return this.badLine(tag, 'Invalid PLAIN response');
    return [{ kind: 'login', tag, user: parts[1]!, password: parts[2]!, authzid: parts[0]! }];
  }

  private badLine(tag: string, text: string): PreAuthAction[] {
    this.bad++;
    const out: PreAuthAction[] = [{ kind: 'send', text: `${tag} BAD ${text}\r\n` }];
    if (this.bad >= 10) out.push({ kind: 'send', text: '* BYE Too many invalid commands\r\n' }, { kind: 'close' });
    return out;
  }
}
