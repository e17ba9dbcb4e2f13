// The capability list: exactly what this server does, per state. Anything listed here has a
// test in test/store/imap*.test.ts (docs/conformance.md maps them).
import type { StateName } from './state.js';

const ALWAYS = ['IMAP4rev1', 'LITERAL+', 'SASL-IR', 'ID', 'ENABLE'];
const AFTER_LOGIN = [
  'UNSELECT',
  'UIDPLUS',
  'CHILDREN',
  'SPECIAL-USE',
  'MOVE',
  'IDLE',
  'NAMESPACE',
  'QUOTA',
  'QUOTA=RES-STORAGE',
  'QUOTA=RES-MESSAGE',
  'LIST-EXTENDED',
  'LIST-STATUS',
  'STATUS=SIZE',
  'MULTIAPPEND',
  'ACL',
  'RIGHTS=kxte',
  'CONDSTORE',
  'QRESYNC',
  'SORT',
  'THREAD=ORDEREDSUBJECT',
  'THREAD=REFERENCES',
];

export interface ConnectionCapabilities {
  /** STARTTLS can be done now (a certificate is configured, the connection is not TLS yet). */
  startTls: boolean;
  /** Passwords are refused on this connection until TLS (RFC 3501 6.2.3, RFC 2595). */
  loginDisabled: boolean;
}

export function capabilities(state: StateName, conn: ConnectionCapabilities = { startTls: false, loginDisabled: false }): string[] {
  if (state !== 'not-authenticated') return [...ALWAYS, ...AFTER_LOGIN];
  const pre = [...ALWAYS];
  if (conn.startTls) pre.push('STARTTLS');
  // RFC 4959/4616: no AUTH=PLAIN where the password would travel in the clear.
  pre.push(conn.loginDisabled ? 'LOGINDISABLED' : 'AUTH=PLAIN');
  return pre;
}
