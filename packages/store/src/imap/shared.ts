// Other users' mailboxes (RFC 4314 ACLs, RFC 2342 "Other Users" namespace). A mailbox bob
// shared with alice appears to alice as "Other Users/bob@example.test/Projects"; its owner's
// ACL decides what she may do. The owner has every right on their own mailboxes. Identifiers
// are canonical "uid@domain" names, or "anyone".
import { MAILBOX_SEPARATOR } from '../mailbox-name.js';
import { StoreError, type MailboxInfo, type UserMailbox } from '../engine/index.js';
import { no } from './errors.js';
import type { ImapSession } from './session.js';

export const OTHER_USERS = 'Other Users';
/** RFC 4314 rights, in the order LISTRIGHTS and MYRIGHTS show them. */
export const ALL_RIGHTS = 'lrswipkxtea';
export const ANYONE = 'anyone';

export interface ResolvedMailbox {
  /** Canonical owner. */
  owner: string;
  /** The owner's store (the session's own for its own mailboxes). */
  mailboxes: UserMailbox;
  /** The name in the owner's store. */
  name: string;
  rights: string;
  /** Closes the owner's store if it was opened for this (never the session's own). */
  close(): void;
}

export function sharedName(owner: string, mailbox: string): string {
  return `${OTHER_USERS}${MAILBOX_SEPARATOR}${owner}${MAILBOX_SEPARATOR}${mailbox}`;
}

/** "Other Users/owner/rest" → owner and rest; null for a name in the personal namespace. */
export function parseSharedName(name: string): { owner: string; mailbox: string } | null {
  const prefix = OTHER_USERS + MAILBOX_SEPARATOR;
  if (!name.startsWith(prefix)) return null;
  const rest = name.slice(prefix.length);
  const i = rest.indexOf(MAILBOX_SEPARATOR);
  if (i <= 0 || i === rest.length - 1) return null;
  return { owner: rest.slice(0, i), mailbox: rest.slice(i + 1) };
}

/** The rights `user` has on another user's mailbox: the union of its entry and anyone's. */
export function rightsOn(owner: UserMailbox, mailbox: string, user: string): string {
  let rights = '';
  for (const e of owner.getAcl(mailbox)) if (e.identifier === user || e.identifier === ANYONE) rights += e.rights;
  return [...ALL_RIGHTS].filter((r) => rights.includes(r)).join('');
}

function whoAmI(session: ImapSession): { user: string; home: UserMailbox } {
  const s = session.state;
  if (s.kind === 'selected') return { user: s.user, home: s.home };
  if (s.kind === 'authenticated') return { user: s.user, home: s.mailboxes };
  throw no('Not authenticated');
}

/**
 * Finds a mailbox by the name the client uses and checks one right. A missing mailbox, or one
 * the user may not even see ('l'), is NONEXISTENT; a visible one without the right is NOPERM.
 */
export function resolveMailbox(session: ImapSession, name: string, right: string): ResolvedMailbox {
  const { user, home } = whoAmI(session);
  const shared = parseSharedName(name);
  if (!shared || shared.owner.toLowerCase() === user.toLowerCase()) {
    const own = shared ? shared.mailbox : name;
    return { owner: user, mailboxes: home, name: home.status(own).name, rights: ALL_RIGHTS, close: () => undefined };
  }
  let owner: UserMailbox;
  try {
    owner = session.opts.store.openUser(shared.owner, { create: false });
  } catch {
    throw no('Mailbox does not exist', 'NONEXISTENT');
  }
  try {
    const canonicalName = owner.status(shared.mailbox).name;
    const rights = rightsOn(owner, canonicalName, user);
    if (!rights.includes('l') && !rights.includes(right)) throw no('Mailbox does not exist', 'NONEXISTENT');
    if (!rights.includes(right)) throw no(`Permission denied (right ${right} missing)`, 'NOPERM');
    return { owner: owner.user, mailboxes: owner, name: canonicalName, rights, close: () => owner.close() };
  } catch (err) {
    owner.close();
    if (err instanceof StoreError && err.kind === 'notFound') throw no('Mailbox does not exist', 'NONEXISTENT');
    throw err;
  }
}

/**
 * What LIST shows of the "Other Users" namespace: the mailboxes shared with the user that the
 * owner's ACL still lets them see (the index may lag), and the namespace levels above them,
 * which cannot be selected.
 */
export function sharedListing(session: ImapSession): { mailboxes: MailboxInfo[]; levels: string[] } {
  const { user } = whoAmI(session);
  const found: MailboxInfo[] = [];
  const owners = new Map<string, string[]>();
  for (const s of session.opts.store.sharedWith(user)) owners.set(s.owner, [...(owners.get(s.owner) ?? []), s.mailbox]);
  for (const [owner, names] of owners) {
    let mbx: UserMailbox;
    try {
      mbx = session.opts.store.openUser(owner, { create: false });
    } catch {
      continue; // the owner is gone; the index is cleaned up when the owner is
    }
    try {
      const all = new Map(mbx.listMailboxes().map((m) => [m.name, m]));
      for (const name of names) {
        const info = all.get(name);
        if (info && rightsOn(mbx, name, user).includes('l')) found.push({ ...info, name: sharedName(owner, name) });
      }
    } finally {
      mbx.close();
    }
  }
  const levels = new Set<string>();
  for (const m of found) {
    const p = parseSharedName(m.name)!;
    levels.add(OTHER_USERS);
    levels.add(`${OTHER_USERS}${MAILBOX_SEPARATOR}${p.owner}`);
  }
  return { mailboxes: found, levels: [...levels] };
}
