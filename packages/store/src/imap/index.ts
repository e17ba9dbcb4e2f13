// The IMAP server's public surface (the store's index.ts re-exports it).
export { startImapServer, type ImapServer, type ImapServerOptions } from './server.js';
export { ImapSession, type ImapSessionOptions, type ResponseSink } from './session.js';
export type { ImapState, ImapStore, LoginPolicy } from './state.js';
export { ImapReceiver, parseCommand, receiveAll, type ReceiverEvent, type ReceiverOptions } from './parser.js';
export type { FramedCommand, ImapArg, ImapCommand } from './parser-tree.js';
export {
  formatSequenceSet,
  parseSequenceSet,
  resolveSequenceNumbers,
  resolveUids,
  seqSetContains,
  type SeqNumber,
  type SeqRange,
  type SequenceSet,
} from './seqset.js';
export { encodeAstring, encodeFlagList, encodeNString, encodeString } from './encode.js';
export { capabilities as imapCapabilities } from './capabilities.js';
