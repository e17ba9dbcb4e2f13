// LOGIN and AUTHENTICATE PLAIN (RFC 3501 6.2, RFC 4616, SASL-IR RFC 4959). Who may log in is
// the injected LoginPolicy (access/login.ts: the directory, account status, proxy logins from
// the MMPs), which answers the canonical "uid@domain" the store keys mailboxes by. A failed
// login waits before answering and the connection closes after a few, so guessing costs time;
// a directory outage is a temporary NO. Without TLS, passwords are refused unless the policy
// allows them (LOGINDISABLED).
import { setTimeout as delay } from 'node:timers/promises';
import { bad, no } from '../errors.js';
import type { LoginResult } from '../../access/login.js';
import type { ImapSession } from '../session.js';
import { NOT_AUTHENTICATED, ok, type CommandSpec, type HandlerResult } from './types.js';

async function login(session: ImapSession, authcid: string, password: string, authzid = ''): Promise<HandlerResult> {
  if (!session.plaintextAllowed) throw no('Log in after STARTTLS', 'PRIVACYREQUIRED');
  let result: LoginResult;
  try {
    result = await session.opts.login.verify({
      service: 'imap',
      authcid,
      authzid,
      password,
      remoteAddress: session.opts.remoteAddress,
      secure: session.secure,
    });
  } catch (err) {
    session.logger?.warn({ err, user: authcid }, 'imap authentication unavailable');
    session.opts.metrics?.login('unavailable');
    throw no('Temporary authentication failure', 'UNAVAILABLE');
  }
  if (!result.ok) {
    session.opts.metrics?.login('failed');
    session.authFailures++;
    session.logger?.info({ user: authcid, authzid, reason: result.reason, failures: session.authFailures }, 'imap login failed');
    await delay(session.opts.authFailureDelayMs);
    if (session.authFailures >= session.opts.maxAuthFailures) session.bye('Too many failed logins');
    throw no(result.text, result.code);
  }
  if (!session.takeUserSlot(result.user)) {
    session.logger?.warn({ user: result.user }, 'imap login refused: too many sessions for this user');
    session.opts.metrics?.login('limit');
    throw no('Too many connections for this user', 'LIMIT');
  }
  const mailboxes = session.opts.store.openUser(result.user);
  session.state = { kind: 'authenticated', user: result.user, mailboxes };
  session.loggedIn(result.user);
  session.opts.metrics?.login('ok');
  session.logger?.info({ user: result.user, ...(result.proxiedBy ? { proxiedBy: result.proxiedBy } : {}) }, 'imap login');
  return ok('Logged in', `CAPABILITY ${session.capabilities().join(' ')}`);
}

export const loginCommand: CommandSpec = {
  name: 'LOGIN',
  states: NOT_AUTHENTICATED,
  async handle({ args, session }) {
    const user = args.astring('user name');
    const password = args.astring('password');
    args.end();
    return login(session, user, password);
  },
};

/** authzid NUL authcid NUL passwd, base64 (RFC 4616). */
function decodePlain(text: string): { authzid: string; user: string; password: string } {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw bad('Invalid base64 data');
  const parts = Buffer.from(text, 'base64').toString('utf8').split('\0');
  if (parts.length !== 3) throw bad('Invalid PLAIN response');
  return { authzid: parts[0]!, user: parts[1]!, password: parts[2]! };
}

export const authenticateCommand: CommandSpec = {
  name: 'AUTHENTICATE',
  states: NOT_AUTHENTICATED,
  handle({ args, session }) {
    const mechanism = args.atom('SASL mechanism').toUpperCase();
    const initial = args.remaining > 0 ? args.atom('initial response') : null;
    args.end();
    if (mechanism !== 'PLAIN') throw no('Unsupported authentication mechanism', 'CANNOT');
    if (!session.plaintextAllowed) throw no('Authenticate after STARTTLS', 'PRIVACYREQUIRED');
    const finish = (response: string): Promise<HandlerResult> => {
      if (response === '*') throw bad('Authentication cancelled');
      const p = decodePlain(response === '=' ? '' : response);
      return login(session, p.user, p.password, p.authzid);
    };
    if (initial !== null) return finish(initial);
    return {
      continuation: '',
      onLine: (line, tooLong) => {
        if (tooLong) throw bad('Authentication response too long');
        return finish(line.toString('latin1'));
      },
    };
  },
};

/** RFC 3501 6.2.1. The tagged OK goes out in clear; the server then starts the handshake on
 * the same socket and the session drops whatever the client sent after the command. */
export const startTlsCommand: CommandSpec = {
  name: 'STARTTLS',
  states: NOT_AUTHENTICATED,
  handle({ args, session }) {
    args.end();
    if (!session.opts.startTls || session.secure) throw bad('STARTTLS is not available on this connection');
    session.tlsRequested = true;
    return ok('Begin TLS negotiation now');
  },
};
