// The store backend: storage engine, LMTP server, events.
export * from './engine/index.js';
export * from './mailbox-name.js';
export * from './events.js';
export * from './lmtp/session.js';
export * from './lmtp/replies.js';
export * from './lmtp/server.js';
export * from './imap/index.js';
