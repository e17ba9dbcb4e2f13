// One POP3 connection's protocol (RFC 1939, CAPA RFC 2449, STLS RFC 2595, AUTH PLAIN RFC 5034,
// response codes RFC 3206) without sockets: a command line in, an action out. The server
// (server.ts) writes replies, streams message bodies for RETR/TOP, and starts TLS for STLS.
//
// The maildrop is the INBOX as it was at login; DELE only marks, QUIT removes exactly the
// marked messages (the UPDATE state); a dropped connection removes nothing. RETR marks the
// message \Seen, as Dovecot does by default; TOP does not. UIDL is "<uidvalidity>.<uid>".
import type { LoginPolicy, LoginRefusal } from '../access/login.js';
import type { UserSessionLimit } from '../access/user-limit.js';
import type { MessageStore, UserMailbox } from '../engine/index.js';
import type { EventSink } from '../events.js';
import type { MaildropLocks } from './lock.js';

export type Pop3Action =
  | { kind: 'reply'; text: string }
  /** "+OK" line, then the body of the message (all, or header + `lines` body lines), dot-stuffed. */
  | { kind: 'message'; head: string; path: string; lines?: number }
  | { kind: 'close'; text: string }
  | { kind: 'starttls'; text: string };

export interface Pop3SessionOptions {
  store: Pick<MessageStore, 'openUser'>;
  login: LoginPolicy;
  locks: MaildropLocks;
  remoteAddress: string;
  secure: boolean;
  startTls: boolean;
  hostname: string;
  authFailureDelayMs: number;
  maxAuthFailures: number;
  userLimit?: UserSessionLimit;
  events?: EventSink;
  delay?: (ms: number) => Promise<void>;
}

interface Drop {
  user: string;
  mailboxes: UserMailbox;
  uidValidity: number;
  messages: Array<{ uid: number; size: number }>;
  deleted: Set<number>;
  release: () => void;
}

const ok = (text: string): Pop3Action => ({ kind: 'reply', text: `+OK ${text}` });
const err = (text: string, code?: string): Pop3Action => ({ kind: 'reply', text: `-ERR ${code ? `[${code}] ` : ''}${text}` });

/** RFC 5530 login refusals as RFC 3206 codes. */
function popCode(code: LoginRefusal): string {
  return code === 'CONTACTADMIN' ? 'SYS/PERM' : code === 'UNAVAILABLE' ? 'SYS/TEMP' : 'AUTH';
}

export class Pop3Session {
  private state: 'authorization' | 'transaction' | 'closed' = 'authorization';
  private user: string | null = null;
  private drop: Drop | null = null;
  private failures = 0;
  /** AUTH PLAIN waiting for its response line. */
  private awaitingSasl = false;
  secure: boolean;

  constructor(private readonly o: Pop3SessionOptions) {
    this.secure = o.secure;
  }

  greeting(): string {
    return `+OK ${this.o.hostname} POP3 ready`;
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  get inTransaction(): boolean {
    return this.state === 'transaction';
  }

  private get plaintextAllowed(): boolean {
    return this.o.login.plaintextAllowed(this.o.remoteAddress, this.secure);
  }

  capabilities(): string[] {
    const caps = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'EXPIRE NEVER', 'LOGIN-DELAY 0'];
    if (this.state === 'authorization') {
      if (this.o.startTls && !this.secure) caps.push('STLS');
      // RFC 2595: no plain-text mechanisms where the password would travel in clear.
      if (this.plaintextAllowed) caps.push('USER', 'SASL PLAIN');
    }
    caps.push('IMPLEMENTATION tiermail');
    return caps;
  }

  /** After STLS: the server switched to TLS. */
  tlsStarted(): void {
    this.secure = true;
  }

  async command(line: string): Promise<Pop3Action> {
    if (this.awaitingSasl) {
      this.awaitingSasl = false;
      if (line === '*') return err('Authentication cancelled');
      return this.plain(line);
    }
    const m = /^([A-Za-z]{3,4})(?: (.*))?$/.exec(line);
    if (!m) return err('Syntax error');
    const verb = m[1]!.toUpperCase();
    const arg = m[2] ?? '';
    if (verb === 'CAPA') return { kind: 'reply', text: `+OK Capability list follows\r\n${this.capabilities().join('\r\n')}\r\n.` };
    if (verb === 'QUIT') return this.quit();
    return this.state === 'authorization' ? this.authorization(verb, arg) : this.transaction(verb, arg);
  }

  private async authorization(verb: string, arg: string): Promise<Pop3Action> {
    switch (verb) {
      case 'STLS':
        if (!this.o.startTls || this.secure) return err('STLS not available');
        return { kind: 'starttls', text: '+OK Begin TLS negotiation' };
      case 'USER':
        if (!this.plaintextAllowed) return err('Log in after STLS', 'AUTH');
        if (!arg || arg.length > 255) return err('USER needs a name');
        this.user = arg;
        return ok('Send PASS');
      case 'PASS':
        if (this.user === null) return err('USER first');
        return this.login(this.user, '', arg);
      case 'AUTH': {
        const [mech, initial] = arg.split(' ');
        if (!mech) return { kind: 'reply', text: '+OK Mechanisms follow\r\nPLAIN\r\n.' };
        if (mech.toUpperCase() !== 'PLAIN') return err('Unsupported mechanism');
        if (!this.plaintextAllowed) return err('Authenticate after STLS', 'AUTH');
        if (initial === undefined) {
          this.awaitingSasl = true;
          return { kind: 'reply', text: '+ ' };
        }
        return this.plain(initial);
      }
      case 'APOP':
        return err('APOP is not supported');
      default:
        return err(`${verb} not allowed before login`);
    }
  }

  private async plain(b64: string): Promise<Pop3Action> {
    const text = b64 === '=' ? '' : b64;
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return err('Invalid base64');
    const parts = Buffer.from(text, 'base64').toString('utf8').split('\0');
    if (parts.length !== 3) return err('Invalid PLAIN response');
    return this.login(parts[1]!, parts[0]!, parts[2]!);
  }

  private async login(authcid: string, authzid: string, password: string): Promise<Pop3Action> {
    this.user = null;
    let result;
    try {
      result = await this.o.login.verify({ service: 'pop3', authcid, authzid, password, remoteAddress: this.o.remoteAddress, secure: this.secure });
    } catch {
      return err('Authentication temporarily unavailable', 'SYS/TEMP');
    }
    if (!result.ok) {
      this.failures++;
      await (this.o.delay ?? ((ms) => new Promise((r) => setTimeout(r, ms))))(this.o.authFailureDelayMs);
      if (this.failures >= this.o.maxAuthFailures) {
        this.state = 'closed';
        return { kind: 'close', text: `-ERR [${popCode(result.code)}] ${result.text}; too many failures` };
      }
      return err(result.text, popCode(result.code));
    }
    const user = result.user;
    if (this.o.userLimit && !this.o.userLimit.acquire(user)) return err('Too many connections for this user', 'IN-USE');
    const release = this.o.locks.acquire(user);
    if (!release) {
      this.o.userLimit?.release(user);
      return err('Mailbox locked by another POP session', 'IN-USE');
    }
    try {
      const mailboxes = this.o.store.openUser(user);
      const uidValidity = mailboxes.status('INBOX').uidValidity;
      const messages = mailboxes.messages('INBOX').map((m) => ({ uid: m.uid, size: m.size }));
      this.drop = { user, mailboxes, uidValidity, messages, deleted: new Set(), release };
    } catch {
      release();
      this.o.userLimit?.release(user);
      return err('Cannot open the mailbox, try again later', 'SYS/TEMP');
    }
    this.state = 'transaction';
    this.o.events?.publish({ type: 'Login', user, service: 'pop3', client: this.o.remoteAddress });
    const size = this.drop.messages.reduce((n, m) => n + m.size, 0);
    return ok(`Logged in, ${this.drop.messages.length} messages (${size} octets)`);
  }

  /** The message numbered n (1-based) unless deleted; an error action otherwise. */
  private pick(arg: string): { n: number; uid: number; size: number } | Pop3Action {
    if (!/^\d{1,9}$/.test(arg)) return err('Expected a message number');
    const n = Number(arg);
    const m = this.drop!.messages[n - 1];
    if (!m) return err(`No message ${n}`);
    if (this.drop!.deleted.has(m.uid)) return err(`Message ${n} is deleted`);
    return { n, ...m };
  }

  private async transaction(verb: string, arg: string): Promise<Pop3Action> {
    const d = this.drop!;
    const live = d.messages.map((m, i) => ({ n: i + 1, ...m })).filter((m) => !d.deleted.has(m.uid));
    switch (verb) {
      case 'STAT':
        return ok(`${live.length} ${live.reduce((n, m) => n + m.size, 0)}`);
      case 'NOOP':
        return ok('');
      case 'RSET':
        d.deleted.clear();
        return ok(`${d.messages.length} messages`);
      case 'LIST':
      case 'UIDL': {
        const item = (m: { n: number; uid: number; size: number }) => `${m.n} ${verb === 'LIST' ? m.size : `${d.uidValidity}.${m.uid}`}`;
        if (arg) {
          const m = this.pick(arg);
          return 'kind' in m ? m : ok(item(m));
        }
        return { kind: 'reply', text: `+OK ${live.length} messages\r\n${live.map((m) => `${item(m)}\r\n`).join('')}.` };
      }
      case 'DELE': {
        const m = this.pick(arg);
        if ('kind' in m) return m;
        d.deleted.add(m.uid);
        return ok(`Message ${m.n} deleted`);
      }
      case 'RETR':
      case 'TOP': {
        const [a, b] = arg.split(' ');
        const m = this.pick(a ?? '');
        if ('kind' in m) return m;
        if (verb === 'TOP' && !/^\d{1,9}$/.test(b ?? '')) return err('TOP needs a message number and a line count');
        let path: string;
        try {
          path = d.mailboxes.readMessage('INBOX', m.uid).path;
        } catch {
          return err(`Message ${m.n} was removed by another client`);
        }
        if (verb === 'RETR') {
          try {
            d.mailboxes.setFlags('INBOX', [m.uid], 'add', ['\\Seen']);
          } catch {
            /* the message is still readable; the flag is not worth failing for */
          }
          return { kind: 'message', head: `+OK ${m.size} octets`, path };
        }
        return { kind: 'message', head: '+OK Top of message follows', path, lines: Number(b) };
      }
      case 'STLS':
      case 'USER':
      case 'PASS':
      case 'AUTH':
        return err('Already logged in');
      default:
        return err(`Unknown command ${verb}`);
    }
  }

  private async quit(): Promise<Pop3Action> {
    const d = this.drop;
    this.state = 'closed';
    if (!d) return { kind: 'close', text: `+OK ${this.o.hostname} POP3 signing off` };
    try {
      // UPDATE state (RFC 1939 6): exactly the messages marked in this session go.
      const gone = await d.mailboxes.remove('INBOX', [...d.deleted]);
      return { kind: 'close', text: `+OK Signing off, ${gone.length} messages deleted` };
    } catch {
      return { kind: 'close', text: '-ERR [SYS/TEMP] Some deleted messages were not removed' };
    } finally {
      this.release();
    }
  }

  /** Ends the session without UPDATE (connection dropped): nothing is deleted. */
  release(): void {
    const d = this.drop;
    this.drop = null;
    this.state = 'closed';
    if (!d) return;
    d.mailboxes.close();
    d.release();
    this.o.userLimit?.release(d.user);
    this.o.events?.publish({ type: 'Logout', user: d.user, service: 'pop3', client: this.o.remoteAddress });
  }
}
