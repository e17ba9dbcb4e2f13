// Mailbox management (RFC 3501 6.3): CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS.
// The engine validates names and does the work; this file reads arguments, keeps the selected
// mailbox consistent, and formats responses.
import { MAILBOX_SEPARATOR } from '../../mailbox-name.js';
import { encodeAstring } from '../encode.js';
import { bad, no } from '../errors.js';
import type { ImapSession } from '../session.js';
import type { ImapArg } from '../parser.js';
import { resolveMailbox } from '../shared.js';
import type { UserMailbox } from '../../engine/index.js';
import { AUTHENTICATED, ok, type CommandSpec } from './types.js';

/** The user and their own mailboxes, in Authenticated or Selected (even while another user's
 * shared mailbox is selected). */
export function authState(session: ImapSession): { user: string; mailboxes: UserMailbox } {
  const s = session.state;
  if (s.kind === 'selected') return { user: s.user, mailboxes: s.home };
  if (s.kind !== 'authenticated') throw bad('Not authenticated');
  return s;
}

/** Leaves Selected without expunging (one of the user's own mailboxes is going away or
 * changing its name). */
function deselectIf(session: ImapSession, affected: (name: string) => boolean): void {
  const s = session.state;
  if (s.kind === 'selected' && s.mailboxes === s.home && affected(s.selected.name)) session.leaveSelected();
}

const within = (root: string) => (name: string) => name === root || name.startsWith(root + MAILBOX_SEPARATOR);

export const createCommand: CommandSpec = {
  name: 'CREATE',
  states: AUTHENTICATED,
  handle({ args, session }) {
    let name = args.astring('mailbox name');
    args.end();
    // RFC 3501 6.3.3: a trailing separator says the client means to create inferiors later.
    if (name.endsWith(MAILBOX_SEPARATOR)) name = name.slice(0, -1);
    if (name.toUpperCase() === 'INBOX') throw no('INBOX already exists', 'ALREADYEXISTS');
    authState(session).mailboxes.createMailbox(name);
    return ok('CREATE completed');
  },
};

export const deleteCommand: CommandSpec = {
  name: 'DELETE',
  states: AUTHENTICATED,
  handle({ args, session }) {
    const name = args.astring('mailbox name');
    args.end();
    const { mailboxes } = authState(session);
    const canonical = mailboxes.status(name).name;
    mailboxes.deleteMailbox(canonical);
    session.opts.store.syncShares(mailboxes.user); // its ACL entries went with it
    deselectIf(session, (n) => n === canonical);
    return ok('DELETE completed');
  },
};

export const renameCommand: CommandSpec = {
  name: 'RENAME',
  states: AUTHENTICATED,
  handle({ args, session }) {
    const from = args.astring('existing mailbox name');
    const to = args.astring('new mailbox name');
    args.end();
    const { mailboxes } = authState(session);
    const canonical = mailboxes.status(from).name;
    mailboxes.renameMailbox(canonical, to);
    session.opts.store.syncShares(mailboxes.user); // shared mailboxes keep their ACL under the new name
    // RENAME INBOX moves its messages and leaves INBOX itself in place (and empty).
    if (canonical !== 'INBOX') deselectIf(session, within(canonical));
    else deselectIf(session, (n) => n === 'INBOX');
    return ok('RENAME completed');
  },
};

export const subscribeCommand: CommandSpec = {
  name: 'SUBSCRIBE',
  states: AUTHENTICATED,
  handle({ args, session }) {
    const name = args.astring('mailbox name');
    args.end();
    authState(session).mailboxes.subscribe(name);
    return ok('SUBSCRIBE completed');
  },
};

export const unsubscribeCommand: CommandSpec = {
  name: 'UNSUBSCRIBE',
  states: AUTHENTICATED,
  handle({ args, session }) {
    const name = args.astring('mailbox name');
    args.end();
    authState(session).mailboxes.unsubscribe(name);
    return ok('UNSUBSCRIBE completed');
  },
};

const STATUS_ITEMS = new Set(['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'SIZE', 'HIGHESTMODSEQ']);

/** STATUS items of a list (also LIST ... RETURN (STATUS (...)), RFC 5819). */
export function parseStatusItems(list: ImapArg[]): string[] {
  const items = list.map((a) => {
    const item = a.type === 'atom' ? a.value.toUpperCase() : '';
    if (!STATUS_ITEMS.has(item)) throw bad('Invalid status item');
    return item;
  });
  if (items.length === 0) throw bad('Empty status item list');
  return items;
}

/** The `* STATUS` response of one mailbox. */
export function statusResponse(session: ImapSession, name: string, items: string[]): string {
  const target = resolveMailbox(session, name, 'r');
  let st;
  try {
    st = target.mailboxes.status(target.name);
  } finally {
    target.close();
  }
  const values: Record<string, number> = {
    MESSAGES: st.messages,
    // \Recent is not tracked (docs/conformance.md): no message is ever recent.
    RECENT: 0,
    UIDNEXT: st.uidNext,
    UIDVALIDITY: st.uidValidity,
    UNSEEN: st.unseen,
    SIZE: st.sizeBytes,
    HIGHESTMODSEQ: st.highestModseq,
  };
  const shown = target.owner === authState(session).user ? st.name : name;
  return `* STATUS ${encodeAstring(shown)} (${items.map((i) => `${i} ${values[i]}`).join(' ')})`;
}

export const statusCommand: CommandSpec = {
  name: 'STATUS',
  states: AUTHENTICATED,
  handle({ args, session }) {
    const name = args.astring('mailbox name');
    const items = parseStatusItems(args.list('status items'));
    args.end();
    session.send(statusResponse(session, name, items));
    return ok('STATUS completed');
  },
};
