// The LMTP command state machine (RFC 2033): command lines in, replies out. No sockets and no
// storage here; server.ts streams DATA to the engine and asks replies.ts for the per-recipient
// answers. RCPT parameters carry what the relay learnt from the directory (docs/lmtp.md).
import type { MoveLookup } from '../moves.js';
import { CommandSyntaxError, decodeXtext, parsePathAndParams, splitAddress, type PathAndParams } from '@tiermail/core';

export interface LmtpRecipient {
  /** The address exactly as it appeared on RCPT TO, for the reply text. */
  address: string;
  /** Canonical mailbox owner, uid@domain in lower case. */
  user: string;
  folder?: string;
  quotaBytes?: number;
  quotaMessages?: number;
  deliveryId?: string;
}

export interface Envelope {
  from: string;
  declaredSize?: number;
  body: '7BIT' | '8BITMIME';
  uidRet: boolean;
  recipients: LmtpRecipient[];
}

export interface SessionOptions {
  hostname: string;
  defaultDomain: string;
  maxRecipients: number;
  maxMessageSize: number;
  /** Bad commands tolerated before the session is closed. */
  maxErrors?: number;
  /** Users being moved to another store (451 while locked, 423 once moved). */
  moves?: MoveLookup;
}

export type CommandResult =
  | { kind: 'reply'; reply: string }
  | { kind: 'data'; reply: string; envelope: Envelope }
  | { kind: 'close'; reply: string };

const UID_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export class LmtpSession {
  private greeted = false;
  private envelope: Envelope | undefined;
  private errors = 0;

  constructor(readonly opts: SessionOptions) {}

  greeting(): string {
    return `220 ${this.opts.hostname} LMTP tiermail ready`;
  }

  capabilities(): string[] {
    return ['PIPELINING', 'ENHANCEDSTATUSCODES', '8BITMIME', `SIZE ${this.opts.maxMessageSize}`, 'UID', 'XQUOTA', 'XDELIVERYID'];
  }

  /** The transaction is over (after the DATA replies): a new MAIL may follow. */
  endTransaction(): void {
    this.envelope = undefined;
  }

  private error(reply: string): CommandResult {
    this.errors += 1;
    if (this.errors > (this.opts.maxErrors ?? 20)) {
      return { kind: 'close', reply: `421 4.7.0 ${this.opts.hostname} too many errors, closing connection` };
    }
    return { kind: 'reply', reply };
  }

  lineTooLong(): CommandResult {
    return this.error('500 5.5.2 Line too long');
  }

  command(raw: string): CommandResult {
    const line = raw.replace(/\s+$/, '');
    const sp = line.indexOf(' ');
    const verb = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const arg = sp < 0 ? '' : line.slice(sp + 1);
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(line)) return this.error('500 5.5.2 Bad character in command');
    switch (verb) {
      case 'LHLO':
        return this.lhlo(arg);
      case 'HELO':
      case 'EHLO':
        return this.error('500 5.5.1 This is LMTP: use LHLO');
      case 'MAIL':
        return this.mail(arg);
      case 'RCPT':
        return this.rcpt(arg);
      case 'DATA':
        return this.data(arg);
      case 'RSET':
        this.envelope = undefined;
        return { kind: 'reply', reply: '250 2.0.0 Ok' };
      case 'NOOP':
        return { kind: 'reply', reply: '250 2.0.0 Ok' };
      case 'VRFY':
        return { kind: 'reply', reply: '252 2.5.2 Cannot verify; send the message and see' };
      case 'HELP':
        return { kind: 'reply', reply: '214 2.0.0 Commands: LHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP' };
      case 'QUIT':
        return { kind: 'close', reply: `221 2.0.0 ${this.opts.hostname} closing connection` };
      case 'BDAT':
        return this.error('502 5.5.1 CHUNKING is not offered: use DATA');
      case 'STARTTLS':
      case 'AUTH':
        return this.error('502 5.5.1 Not offered on LMTP');
      case '':
        return this.error('500 5.5.2 Empty command');
      default:
        return this.error(`500 5.5.1 Unknown command ${JSON.stringify(verb.slice(0, 32))}`);
    }
  }

  private lhlo(arg: string): CommandResult {
    if (arg.trim() === '') return this.error('501 5.5.4 LHLO needs a host name');
    this.greeted = true;
    this.envelope = undefined;
    const lines = [this.opts.hostname, ...this.capabilities()];
    return {
      kind: 'reply',
      reply: lines.map((l, i) => `250${i === lines.length - 1 ? ' ' : '-'}${l}`).join('\r\n'),
    };
  }

  /** The <path> and parameters after "FROM:" or "TO:", or the error reply. */
  private path(arg: string, word: 'FROM' | 'TO'): PathAndParams | CommandResult {
    if (arg.slice(0, word.length + 1).toUpperCase() !== `${word}:`) {
      return this.error(`501 5.5.4 Syntax: ${word === 'FROM' ? 'MAIL FROM' : 'RCPT TO'}:<address>`);
    }
    try {
      return parsePathAndParams(arg.slice(word.length + 1));
    } catch (err) {
      if (err instanceof CommandSyntaxError) return this.error(err.reply);
      throw err;
    }
  }

  private mail(arg: string): CommandResult {
    if (!this.greeted) return this.error('503 5.5.1 Send LHLO first');
    if (this.envelope) return this.error('503 5.5.1 Nested MAIL command');
    const parsed = this.path(arg, 'FROM');
    if ('kind' in parsed) return parsed;
    const env: Envelope = { from: parsed.address, body: '7BIT', uidRet: false, recipients: [] };
    for (const [key, value] of parsed.params) {
      if (key === 'SIZE') {
        const n = Number(value);
        if (value === true || !/^\d{1,15}$/.test(value) || !Number.isSafeInteger(n)) return this.error('501 5.5.4 Bad SIZE value');
        if (n > this.opts.maxMessageSize) return this.error(`552 5.3.4 Message size exceeds fixed limit of ${this.opts.maxMessageSize} bytes`);
        env.declaredSize = n;
      } else if (key === 'BODY') {
        const v = String(value).toUpperCase();
        if (v !== '7BIT' && v !== '8BITMIME') return this.error('501 5.5.4 BODY must be 7BIT or 8BITMIME');
        env.body = v;
      } else if (key === 'UID') {
        const v = String(value).toUpperCase();
        if (v !== 'RET' && v !== 'NO') return this.error('501 5.5.4 UID must be RET or NO');
        env.uidRet = v === 'RET';
      } else {
        return this.error(`555 5.5.4 MAIL parameter ${key} not supported`);
      }
    }
    this.envelope = env;
    return { kind: 'reply', reply: '250 2.1.0 Sender ok' };
  }

  private rcpt(arg: string): CommandResult {
    if (!this.envelope) return this.error('503 5.5.1 Need MAIL before RCPT');
    const parsed = this.path(arg, 'TO');
    if ('kind' in parsed) return parsed;
    if (this.envelope.recipients.length >= this.opts.maxRecipients) {
      return { kind: 'reply', reply: `452 4.5.3 Too many recipients (at most ${this.opts.maxRecipients})` };
    }
    if (parsed.address === '') return this.error('501 5.1.3 Empty recipient');
    const { local, domain } = splitAddress(parsed.address);
    const plus = local.indexOf('+');
    const uid = (plus < 0 ? local : local.slice(0, plus)).toLowerCase();
    const folder = plus < 0 ? undefined : local.slice(plus + 1);
    if (!UID_RE.test(uid)) return { kind: 'reply', reply: `550 5.1.1 <${parsed.address}> No such mailbox` };
    if (folder !== undefined && (folder === '' || folder.length > 1024)) {
      return { kind: 'reply', reply: `550 5.1.1 <${parsed.address}> Bad folder name` };
    }
    const rcpt: LmtpRecipient = {
      address: parsed.address,
      user: `${uid}@${domain || this.opts.defaultDomain.toLowerCase()}`,
      ...(folder !== undefined ? { folder } : {}),
    };
    const move = this.opts.moves?.stateOf(rcpt.user);
    if (move?.state === 'locked') return { kind: 'reply', reply: `451 4.2.1 <${parsed.address}> Mailbox is being moved, try again shortly` };
    // The relay redirects the recipient to the store named here (see docs/lmtp.md).
    if (move?.state === 'moved') return { kind: 'reply', reply: `423 4.3.2 <${parsed.address}> Mailbox moved to ${move.to}` };
    for (const [key, value] of parsed.params) {
      if (key === 'XQUOTA') {
        const m = /^(-?\d{1,18}),(-?\d{1,12})$/.exec(String(value));
        if (!m) return this.error('501 5.5.4 XQUOTA=bytes,messages expected');
        rcpt.quotaBytes = Number(m[1]);
        rcpt.quotaMessages = Number(m[2]);
      } else if (key === 'XDELIVERYID') {
        const id = value === true ? '' : decodeXtext(value);
        if (id === '' || id.length > 512) return this.error('501 5.5.4 XDELIVERYID must be 1 to 512 characters');
        rcpt.deliveryId = id;
      } else {
        return this.error(`555 5.5.4 RCPT parameter ${key} not supported`);
      }
    }
    this.envelope.recipients.push(rcpt);
    return { kind: 'reply', reply: `250 2.1.5 <${parsed.address}> Recipient ok` };
  }

  private data(arg: string): CommandResult {
    if (arg.trim() !== '') return this.error('501 5.5.4 DATA takes no arguments');
    if (!this.envelope) return this.error('503 5.5.1 Need MAIL before DATA');
    if (this.envelope.recipients.length === 0) return this.error('503 5.5.1 Need RCPT before DATA');
    return { kind: 'data', reply: '354 Start mail input; end with <CRLF>.<CRLF>', envelope: this.envelope };
  }
}
