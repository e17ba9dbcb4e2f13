// LIST and LSUB (RFC 3501 6.3.8, 6.3.9) with the CHILDREN (RFC 3348) and SPECIAL-USE
// (RFC 6154) attributes. The reference name is joined to the pattern; "*" matches anything,
// "%" anything but the separator; INBOX matches in any case.
import { INBOX, MAILBOX_SEPARATOR } from '../../mailbox-name.js';
import { encodeString } from '../encode.js';
import type { ImapSession } from '../session.js';
import { authState } from './mailboxes.js';
import { AUTHENTICATED, ok, type CommandSpec } from './types.js';

/** A matcher for a LIST pattern (reference already joined). */
export function listPattern(pattern: string): (name: string) => boolean {
  let src = '';
  for (const ch of pattern) {
    if (ch === '*') src += '.*';
    else if (ch === '%') src += '[^/]*';
    else src += ch.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  const re = new RegExp(`^${src}$`);
  // INBOX is case-insensitive ("in%" finds it); names below it are compared as the client
  // spelled them apart from that first level, which is close enough for a wildcard listing.
  const inboxRe = new RegExp(`^${src}$`, 'i');
  return (name: string) => re.test(name) || ((name === INBOX || name.startsWith(INBOX + MAILBOX_SEPARATOR)) && inboxRe.test(name));
}

function normalizePattern(reference: string, pattern: string): string {
  let full = reference + pattern;
  if (full.slice(0, 5).toUpperCase() === INBOX && (full.length === 5 || full[5] === MAILBOX_SEPARATOR)) full = INBOX + full.slice(5);
  return full;
}

function sortNames(names: string[]): string[] {
  return names.sort((a, b) => (a === INBOX ? -1 : b === INBOX ? 1 : a < b ? -1 : a > b ? 1 : 0));
}

function runList(session: ImapSession, response: 'LIST' | 'LSUB', reference: string, pattern: string): void {
  const { mailboxes } = authState(session);
  if (pattern === '') {
    // RFC 3501: the hierarchy delimiter and the root of the reference.
    const root = reference.includes(MAILBOX_SEPARATOR) ? reference.slice(0, reference.indexOf(MAILBOX_SEPARATOR) + 1) : '';
    session.send(`* ${response} (\\Noselect) "${MAILBOX_SEPARATOR}" ${encodeString(root)}`);
    return;
  }
  const match = listPattern(normalizePattern(reference, pattern));
  const all = mailboxes.listMailboxes();
  const byName = new Map(all.map((m) => [m.name, m]));
  const hasChildren = (name: string): boolean => all.some((m) => m.name.startsWith(name + MAILBOX_SEPARATOR));
  const names = response === 'LIST' ? all.map((m) => m.name) : mailboxes.subscriptions();
  for (const name of sortNames(names.filter(match))) {
    const info = byName.get(name);
    const attrs: string[] = [];
    if (!info) attrs.push('\\NonExistent');
    else {
      attrs.push(hasChildren(name) ? '\\HasChildren' : '\\HasNoChildren');
      if (info.specialUse) attrs.push(info.specialUse);
    }
    if (response === 'LSUB' && !info) attrs.splice(0, attrs.length, '\\Noselect');
    session.send(`* ${response} (${attrs.join(' ')}) "${MAILBOX_SEPARATOR}" ${encodeString(name)}`);
  }
}

export const listCommand: CommandSpec = {
  name: 'LIST',
  states: AUTHENTICATED,
  handle({ args, session }) {
    const reference = args.astring('reference name');
    const pattern = args.astring('mailbox pattern');
    args.end();
    runList(session, 'LIST', reference, pattern);
    return ok('LIST completed');
  },
};

export const lsubCommand: CommandSpec = {
  name: 'LSUB',
  states: AUTHENTICATED,
  handle({ args, session }) {
    const reference = args.astring('reference name');
    const pattern = args.astring('mailbox pattern');
    args.end();
    runList(session, 'LSUB', reference, pattern);
    return ok('LSUB completed');
  },
};
