// One place maps failures to IMAP replies (STYLE: errors stay neutral until they reach a
// protocol). Handlers throw ImapError for protocol errors; the engine's StoreError kinds become
// the RFC 5530 response codes; anything else reaches the client only as a generic SERVERBUG
// text and the details go to the log.
import { StoreError } from '../engine/index.js';

export type TaggedStatus = 'OK' | 'NO' | 'BAD';

export interface Tagged {
  status: TaggedStatus;
  code?: string;
  text: string;
}

export class ImapError extends Error {
  constructor(
    readonly status: 'NO' | 'BAD',
    text: string,
    readonly code?: string,
  ) {
    super(text);
    this.name = 'ImapError';
  }
}

export const bad = (text: string, code?: string): ImapError => new ImapError('BAD', text, code);
export const no = (text: string, code?: string): ImapError => new ImapError('NO', text, code);

/** Shared text, so a refusal never tells whether a mailbox exists (Dovecot's MAIL_ERRSTR_*). */
export const MAILBOX_NOT_FOUND = 'Mailbox does not exist';
export const INTERNAL_ERROR = 'Internal error occurred. Refer to server log for more information.';

/** The tagged reply for a thrown error; `internal` is true when it must be logged. */
export function errorReply(err: unknown): Tagged & { internal: boolean } {
  if (err instanceof ImapError) return { status: err.status, text: err.message, internal: false, ...(err.code ? { code: err.code } : {}) };
  if (err instanceof StoreError) {
    switch (err.kind) {
      case 'notFound':
        return { status: 'NO', code: 'NONEXISTENT', text: MAILBOX_NOT_FOUND, internal: false };
      case 'exists':
        return { status: 'NO', code: 'ALREADYEXISTS', text: 'Mailbox already exists', internal: false };
      case 'invalidName':
        return { status: 'NO', code: 'CANNOT', text: 'Invalid mailbox name', internal: false };
      case 'hasChildren':
        return { status: 'NO', code: 'INUSE', text: 'Mailbox has inferior mailboxes', internal: false };
      case 'notAllowed':
        return { status: 'NO', code: 'CANNOT', text: err.message, internal: false };
      default:
        return { status: 'NO', code: 'SERVERBUG', text: INTERNAL_ERROR, internal: true };
    }
  }
  return { status: 'NO', code: 'SERVERBUG', text: INTERNAL_ERROR, internal: true };
}
