// LIST and LSUB (RFC 3501 6.3.8, 6.3.9) with the CHILDREN (RFC 3348) and SPECIAL-USE
// (RFC 6154) attributes, and LIST-EXTENDED (RFC 5258): selection options SUBSCRIBED,
// RECURSIVEMATCH, SPECIAL-USE, several patterns, return options SUBSCRIBED, CHILDREN,
// SPECIAL-USE and STATUS (LIST-STATUS, RFC 5819). The reference name is joined to the
// pattern; "*" matches anything, "%" anything but the separator; INBOX matches in any case.
import { INBOX, MAILBOX_SEPARATOR } from '../../mailbox-name.js';
import { encodeString } from '../encode.js';
import { bad } from '../errors.js';
import type { ImapArg } from '../parser.js';
import { argText } from './args.js';
import type { ImapSession } from '../session.js';
import { sharedListing } from '../shared.js';
import { authState, parseStatusItems, statusResponse } from './mailboxes.js';
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

interface ListOptions {
  /** LSUB, or LIST (SUBSCRIBED): subscribed names, existing or not. */
  subscribedOnly: boolean;
  /** RECURSIVEMATCH: a parent that does not match is listed with CHILDINFO of a matching child. */
  recursiveMatch: boolean;
  /** SPECIAL-USE selection: only mailboxes with a special use. */
  specialUseOnly: boolean;
  returnSubscribed: boolean;
  status: string[] | null;
  /** Extended syntax used: \Subscribed and CHILDINFO appear only then. */
  extended: boolean;
}

const PLAIN: ListOptions = {
  subscribedOnly: false,
  recursiveMatch: false,
  specialUseOnly: false,
  returnSubscribed: false,
  status: null,
  extended: false,
};

function runList(session: ImapSession, response: 'LIST' | 'LSUB', reference: string, patterns: string[], o: ListOptions): void {
  const { mailboxes } = authState(session);
  if (patterns.length === 1 && patterns[0] === '' && !o.extended) {
    // RFC 3501: the hierarchy delimiter and the root of the reference.
    const root = reference.includes(MAILBOX_SEPARATOR) ? reference.slice(0, reference.indexOf(MAILBOX_SEPARATOR) + 1) : '';
    session.send(`* ${response} (\\Noselect) "${MAILBOX_SEPARATOR}" ${encodeString(root)}`);
    return;
  }
  const matchers = patterns.filter((p) => p !== '').map((p) => listPattern(normalizePattern(reference, p)));
  const match = (name: string): boolean => matchers.some((m) => m(name));
  const shared = sharedListing(session);
  const all = [...mailboxes.listMailboxes(), ...shared.mailboxes];
  const byName = new Map(all.map((m) => [m.name, m]));
  const levels = new Set(shared.levels);
  const subscribed = new Set(mailboxes.subscriptions());
  const hasChildren = (name: string): boolean => all.some((m) => m.name.startsWith(name + MAILBOX_SEPARATOR));
  const candidates = o.subscribedOnly ? [...subscribed] : [...all.map((m) => m.name), ...levels];
  const selected = (name: string): boolean => {
    if (o.specialUseOnly && !byName.get(name)?.specialUse) return false;
    return true;
  };
  const listed = new Map<string, string[]>();
  for (const name of candidates) if (match(name) && selected(name)) listed.set(name, []);
  if (o.recursiveMatch) {
    // RFC 5258 3.5: a matching ancestor of a mailbox that meets the selection is listed with
    // CHILDINFO, whether or not it meets the selection itself.
    const tag = o.subscribedOnly ? 'SUBSCRIBED' : 'SPECIAL-USE';
    for (const name of candidates) {
      if (!selected(name)) continue;
      for (let i = name.indexOf(MAILBOX_SEPARATOR); i > 0; i = name.indexOf(MAILBOX_SEPARATOR, i + 1)) {
        const parent = name.slice(0, i);
        if (!match(parent)) continue;
        const info = listed.get(parent) ?? [];
        if (!info.includes(tag)) info.push(tag);
        listed.set(parent, info);
      }
    }
  }
  for (const name of sortNames([...listed.keys()])) {
    const info = byName.get(name);
    const attrs: string[] = [];
    if (levels.has(name)) attrs.push('\\Noselect', '\\HasChildren');
    else if (!info) attrs.push(response === 'LSUB' ? '\\Noselect' : '\\NonExistent');
    else {
      attrs.push(hasChildren(name) ? '\\HasChildren' : '\\HasNoChildren');
      if (info.specialUse) attrs.push(info.specialUse);
    }
    if (o.extended && (o.subscribedOnly || o.returnSubscribed) && subscribed.has(name)) attrs.push('\\Subscribed');
    const childInfo = listed.get(name)!;
    const ext = childInfo.length > 0 ? ` ("CHILDINFO" (${childInfo.map((t) => `"${t}"`).join(' ')}))` : '';
    session.send(`* ${response} (${attrs.join(' ')}) "${MAILBOX_SEPARATOR}" ${encodeString(name)}${ext}`);
    if (o.status && info) session.send(statusResponse(session, name, o.status));
  }
}

function patternsOf(a: ImapArg): string[] {
  if (a.type === 'list') {
    if (a.items.length === 0) throw bad('Empty pattern list');
    return a.items.map((p) => {
      const t = argText(p);
      if (t === null) throw bad('Invalid mailbox pattern');
      return t;
    });
  }
  const t = argText(a);
  if (t === null) throw bad('Invalid mailbox pattern');
  return [t];
}

function atomsOf(items: ImapArg[], what: string): string[] {
  return items.map((a) => {
    if (a.type !== 'atom') throw bad(`Invalid ${what}`);
    return a.value.toUpperCase();
  });
}

export const listCommand: CommandSpec = {
  name: 'LIST',
  states: AUTHENTICATED,
  handle({ args, session }) {
    const o: ListOptions = { ...PLAIN };
    if (args.peek()?.type === 'list') {
      o.extended = true;
      for (const sel of atomsOf(args.list('selection options'), 'selection option')) {
        if (sel === 'SUBSCRIBED') o.subscribedOnly = true;
        else if (sel === 'RECURSIVEMATCH') o.recursiveMatch = true;
        else if (sel === 'SPECIAL-USE') o.specialUseOnly = true;
        else if (sel !== 'REMOTE') throw bad(`Unknown selection option ${sel}`);
      }
      // RFC 5258 3.1: RECURSIVEMATCH alone is an error.
      if (o.recursiveMatch && !o.subscribedOnly && !o.specialUseOnly) throw bad('RECURSIVEMATCH needs another selection option');
    }
    const reference = args.astring('reference name');
    const patternArg = args.next('mailbox pattern');
    if (patternArg.type === 'list') o.extended = true;
    const patterns = patternsOf(patternArg);
    if (args.remaining > 0) {
      if (args.atom('RETURN').toUpperCase() !== 'RETURN') throw bad('Expected RETURN');
      o.extended = true;
      const opts = args.list('return options');
      for (let i = 0; i < opts.length; i++) {
        const a = opts[i]!;
        const name = a.type === 'atom' ? a.value.toUpperCase() : '';
        if (name === 'SUBSCRIBED') o.returnSubscribed = true;
        else if (name === 'STATUS') {
          const items = opts[++i];
          if (items?.type !== 'list') throw bad('STATUS return option needs a list of items');
          o.status = parseStatusItems(items.items);
        } else if (name !== 'CHILDREN' && name !== 'SPECIAL-USE') throw bad(`Unknown return option ${name || '?'}`);
      }
    }
    args.end();
    runList(session, 'LIST', reference, patterns, o);
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
    runList(session, 'LSUB', reference, [pattern], { ...PLAIN, subscribedOnly: true });
    return ok('LSUB completed');
  },
};
