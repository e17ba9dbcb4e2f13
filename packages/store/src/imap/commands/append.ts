// APPEND (RFC 3501 6.3.11) with the APPENDUID response code (UIDPLUS, RFC 4315). The message
// goes through the engine's delivery path (same durability, quota and single-instance rules as
// LMTP) into the named mailbox, with the client's flags and INTERNALDATE.
import { StoreError } from '../../engine/index.js';
import { parseDateTime } from '../dates.js';
import { bad, no } from '../errors.js';
import { parseFlag } from './args.js';
import { authState } from './mailboxes.js';
import { AUTHENTICATED, ok, type CommandSpec } from './types.js';

export const appendCommand: CommandSpec = {
  name: 'APPEND',
  states: AUTHENTICATED,
  async handle({ args, session }) {
    const name = args.astring('mailbox name');
    let flags: string[] = [];
    let internalDate: Date | undefined;
    if (args.peek()?.type === 'list') flags = args.list('flags').map(parseFlag);
    if (args.peek()?.type === 'quoted') {
      const parsed = parseDateTime(args.string('date-time'));
      if (!parsed) throw bad('Invalid date-time');
      internalDate = parsed;
    }
    const msg = args.next('message literal');
    if (msg.type !== 'literal') throw bad('Message must be sent as a literal');
    args.end();
    if (msg.value.length === 0) throw no('Cannot append an empty message');
    const { user, mailboxes } = authState(session);
    let target: string;
    try {
      target = mailboxes.status(name).name;
    } catch (err) {
      if (err instanceof StoreError && err.kind === 'notFound') throw no('Mailbox does not exist', 'TRYCREATE');
      throw err;
    }
    const [outcome] = await session.opts.store.deliver(
      { data: msg.value },
      [{ user, ...(target !== 'INBOX' ? { folder: target } : {}) }],
      { flags, ...(internalDate ? { internalDate } : {}) },
    );
    switch (outcome?.status) {
      case 'stored':
        // Delivery falls back to INBOX when the folder vanished meanwhile: say so, and do not
        // hand out a UID of another mailbox as if it were in the one asked for.
        if (outcome.folder !== target) return ok(`APPEND completed, but into ${outcome.folder}: ${target} was deleted meanwhile`);
        return ok('APPEND completed', `APPENDUID ${outcome.uidValidity} ${outcome.uid}`);
      case 'over-quota':
        throw no('Quota exceeded', 'OVERQUOTA');
      case 'too-large':
        throw no('Message larger than the quota', 'OVERQUOTA');
      case 'partition-full':
        throw no('Mail storage is full, try again later', 'UNAVAILABLE');
      default:
        session.logger?.error({ outcome }, 'imap append failed');
        throw no('Internal error occurred. Refer to server log for more information.', 'SERVERBUG');
    }
  },
};
