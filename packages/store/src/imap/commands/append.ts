// APPEND (RFC 3501 6.3.11) and MULTIAPPEND (RFC 3502) with the APPENDUID response code
// (UIDPLUS, RFC 4315). Each message goes through the engine's delivery path (same durability,
// quota and single-instance rules as LMTP) into the named mailbox, with the client's flags and
// INTERNALDATE; several messages in one command are stored all or none.
import { StoreError, type DeliveryOutcome, type UserMailbox } from '../../engine/index.js';
import { parseDateTime } from '../dates.js';
import { bad, ImapError, no, type Tagged } from '../errors.js';
import { resolveMailbox, type ResolvedMailbox } from '../shared.js';
import { formatSequenceSet } from '../seqset.js';
import type { ImapSession } from '../session.js';
import { parseFlag, type Args } from './args.js';
import { AUTHENTICATED, ok, type CommandSpec } from './types.js';

interface AppendItem {
  flags: string[];
  internalDate?: Date;
  data: Buffer;
}

function parseItems(args: Args): AppendItem[] {
  const items: AppendItem[] = [];
  // MULTIAPPEND (RFC 3502): one or more [flags] [date-time] literal groups.
  while (args.remaining > 0) {
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
    if (msg.value.length === 0) throw no('Cannot append an empty message');
    items.push({ flags, ...(internalDate ? { internalDate } : {}), data: msg.value });
  }
  if (items.length === 0) throw bad('Missing message literal');
  return items;
}

function refusal(outcome: DeliveryOutcome | undefined, session: ImapSession): never {
  switch (outcome?.status) {
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
}

/** MULTIAPPEND is all or nothing: messages already stored by a failed command are removed. */
async function undo(mailboxes: UserMailbox, target: string, uids: number[]): Promise<void> {
  if (uids.length === 0) return;
  mailboxes.setFlags(target, uids, 'add', ['\\Deleted']);
  await mailboxes.expunge(target, uids);
}

export const appendCommand: CommandSpec = {
  name: 'APPEND',
  states: AUTHENTICATED,
  async handle({ args, session }) {
    const name = args.astring('mailbox name');
    const items = parseItems(args);
    let resolved: ResolvedMailbox;
    try {
      // Into another user's shared mailbox with the 'i' right (RFC 4314).
      resolved = resolveMailbox(session, name, 'i');
    } catch (err) {
      if (err instanceof ImapError && err.code === 'NONEXISTENT') throw no('Mailbox does not exist', 'TRYCREATE');
      if (err instanceof StoreError && err.kind === 'notFound') throw no('Mailbox does not exist', 'TRYCREATE');
      throw err;
    }
    try {
      return await appendTo(session, resolved, items);
    } finally {
      resolved.close();
    }
  },
};

async function appendTo(session: ImapSession, resolved: ResolvedMailbox, items: AppendItem[]): Promise<Tagged> {
  {
    const { owner: user, mailboxes, name: target } = resolved;
    const uids: number[] = [];
    let uidValidity = 0;
    for (const item of items) {
      const [outcome] = await session.opts.store.deliver(
        { data: item.data },
        [{ user, ...(target !== 'INBOX' ? { folder: target } : {}) }],
        { flags: item.flags, ...(item.internalDate ? { internalDate: item.internalDate } : {}) },
      );
      if (outcome?.status === 'stored' && outcome.folder === target && (uidValidity === 0 || outcome.uidValidity === uidValidity)) {
        uidValidity = outcome.uidValidity;
        uids.push(outcome.uid);
        continue;
      }
      // Delivery falls back to INBOX when the folder vanished meanwhile: that is a failure
      // here, and a message stored there is taken back like the others.
      if (outcome?.status === 'stored') await undo(mailboxes, outcome.folder, [outcome.uid]);
      await undo(mailboxes, target, uids).catch((err: unknown) => session.logger?.error({ err }, 'imap append: undo failed'));
      if (outcome?.status === 'stored') throw no(`${target} was deleted meanwhile`, 'TRYCREATE');
      refusal(outcome, session);
    }
    return ok('APPEND completed', `APPENDUID ${uidValidity} ${formatSequenceSet(uids)}`);
  }
}
