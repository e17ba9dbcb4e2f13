// LOGIN and AUTHENTICATE PLAIN (RFC 3501 6.2, RFC 4616, SASL-IR RFC 4959). The password check
// is the injected Authenticator (the directory in production), which answers the canonical
// "uid@domain" the store keys mailboxes by. A failed login waits before answering and the
// connection closes after a few, so guessing costs time; a directory outage is a temporary NO.
import { setTimeout as delay } from 'node:timers/promises';
import { bad, no } from '../errors.js';
import type { ImapSession } from '../session.js';
import { NOT_AUTHENTICATED, ok, type CommandSpec, type HandlerResult } from './types.js';

async function login(session: ImapSession, user: string, password: string, authzid = ''): Promise<HandlerResult> {
  let canonical: string | null;
  try {
    canonical = user === '' || password === '' ? null : await session.opts.authenticate(user, password);
  } catch (err) {
    session.logger?.warn({ err, user }, 'imap authentication unavailable');
    throw no('Temporary authentication failure', 'UNAVAILABLE');
  }
  // Proxy logins (authzid another user) come with the MMP; until then authzid must be the user.
  if (canonical && authzid !== '' && authzid !== user && authzid !== canonical) {
    throw no('Not authorized to act as another user', 'AUTHORIZATIONFAILED');
  }
  if (!canonical) {
    session.authFailures++;
    session.logger?.info({ user, failures: session.authFailures }, 'imap login failed');
    await delay(session.opts.authFailureDelayMs);
    if (session.authFailures >= session.opts.maxAuthFailures) {
      session.bye('Too many failed logins');
    }
    throw no('Authentication failed', 'AUTHENTICATIONFAILED');
  }
  const mailboxes = session.opts.store.openUser(canonical);
  session.state = { kind: 'authenticated', user: canonical, mailboxes };
  session.logger?.info({ user: canonical }, 'imap login');
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
