// The store's POP3 server (RFC 1939 with CAPA, STLS, AUTH PLAIN, RESP-CODES).
export { startPop3Server, type Pop3Server, type Pop3ServerOptions } from './server.js';
export { Pop3Session, type Pop3Action, type Pop3SessionOptions } from './session.js';
export { MaildropLocks } from './lock.js';
export { DotStuffer } from './dot-stuff.js';
