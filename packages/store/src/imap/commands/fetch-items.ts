// FETCH data items (RFC 3501 6.4.5) parsed into a typed list: FLAGS, INTERNALDATE,
// RFC822.SIZE, UID, MODSEQ, ENVELOPE, BODY, BODYSTRUCTURE, RFC822, RFC822.HEADER, RFC822.TEXT,
// BODY[...] and BODY.PEEK[...] with part numbers and HEADER, TEXT, MIME, HEADER.FIELDS (...),
// HEADER.FIELDS.NOT (...) and <partial>, and the ALL, FAST, FULL macros. BINARY (RFC 3516) is
// refused with NO [CANNOT] rather than answered wrongly.
import { bad, no } from '../errors.js';
import type { ImapArg } from '../parser.js';
import { receiveAll } from '../parser.js';

/** path: part numbers ([] = the message itself); then what of that part. */
export type Section = { path: number[] } & (
  | { kind: 'full' }
  | { kind: 'header' }
  | { kind: 'text' }
  | { kind: 'mime' }
  | { kind: 'fields'; names: string[]; not: boolean }
);

export type FetchItem =
  | { kind: 'flags' }
  | { kind: 'internaldate' }
  | { kind: 'size' }
  | { kind: 'uid' }
  /** CONDSTORE (RFC 7162 3.1.4). */
  | { kind: 'modseq' }
  | { kind: 'envelope' }
  /** BODYSTRUCTURE (extended) or BODY (without extension data). */
  | { kind: 'structure'; extended: boolean }
  | {
      kind: 'body';
      /** false when fetching it sets \Seen. */
      peek: boolean;
      section: Section;
      partial?: { start: number; length: number };
      /** Name in the response: "BODY[HEADER.FIELDS (SUBJECT)]<0>", "RFC822" ... */
      label: string;
    };

const NOT_YET = new Set(['BINARY', 'BINARY.PEEK', 'BINARY.SIZE']);

function parseSection(full: string): { section: Section; label: string } {
  const pm = /^(\d{1,5}(?:\.\d{1,5}){0,49})(?:\.|$)(.*)$/s.exec(full);
  const path = pm ? pm[1]!.split('.').map(Number) : [];
  if (path.some((n) => n === 0)) throw bad('Section part numbers start at 1');
  const spec = pm ? pm[2]! : full;
  const prefix = pm ? `${pm[1]}${spec ? '.' : ''}` : '';
  const upper = spec.toUpperCase();
  if (upper === '') return { section: { path, kind: 'full' }, label: prefix };
  if (upper === 'HEADER') return { section: { path, kind: 'header' }, label: `${prefix}HEADER` };
  if (upper === 'TEXT') return { section: { path, kind: 'text' }, label: `${prefix}TEXT` };
  if (upper === 'MIME') {
    if (path.length === 0) throw bad('MIME needs a part number');
    return { section: { path, kind: 'mime' }, label: `${prefix}MIME` };
  }
  const m = /^(HEADER\.FIELDS(?:\.NOT)?) (\(.*\))$/i.exec(spec);
  if (m) {
    // The field list is an IMAP list of astrings: reuse the command parser on it.
    const events = receiveAll(Buffer.from(`x X ${m[2]}\r\n`, 'latin1'));
    const ev = events[0];
    const list = ev?.kind === 'command' ? ev.command.args[0] : undefined;
    if (list?.type !== 'list' || list.items.length === 0) throw bad('Invalid header field list');
    const names = list.items.map((a) => {
      if (a.type !== 'atom' && a.type !== 'quoted') throw bad('Invalid header field name');
      if (!/^[\x21-\x39\x3b-\x7e]+$/.test(a.value)) throw bad('Invalid header field name');
      return a.value.toUpperCase();
    });
    const kind = m[1]!.toUpperCase();
    return { section: { path, kind: 'fields', names, not: kind.endsWith('.NOT') }, label: `${prefix}${kind} (${names.join(' ')})` };
  }
  throw bad(`Invalid section ${full}`);
}

function parseItem(atom: string): FetchItem[] {
  const upper = atom.toUpperCase();
  switch (upper) {
    case 'FLAGS':
      return [{ kind: 'flags' }];
    case 'INTERNALDATE':
      return [{ kind: 'internaldate' }];
    case 'RFC822.SIZE':
      return [{ kind: 'size' }];
    case 'UID':
      return [{ kind: 'uid' }];
    case 'MODSEQ':
      return [{ kind: 'modseq' }];
    case 'FAST':
      return [{ kind: 'flags' }, { kind: 'internaldate' }, { kind: 'size' }];
    case 'ALL':
      return [{ kind: 'flags' }, { kind: 'internaldate' }, { kind: 'size' }, { kind: 'envelope' }];
    case 'FULL':
      return [{ kind: 'flags' }, { kind: 'internaldate' }, { kind: 'size' }, { kind: 'envelope' }, { kind: 'structure', extended: false }];
    case 'ENVELOPE':
      return [{ kind: 'envelope' }];
    case 'BODY':
      return [{ kind: 'structure', extended: false }];
    case 'BODYSTRUCTURE':
      return [{ kind: 'structure', extended: true }];
    case 'RFC822':
      return [{ kind: 'body', peek: false, section: { path: [], kind: 'full' }, label: 'RFC822' }];
    case 'RFC822.HEADER':
      return [{ kind: 'body', peek: true, section: { path: [], kind: 'header' }, label: 'RFC822.HEADER' }];
    case 'RFC822.TEXT':
      return [{ kind: 'body', peek: false, section: { path: [], kind: 'text' }, label: 'RFC822.TEXT' }];
  }
  const m = /^(BODY|BODY\.PEEK)\[(.*)\](?:<(\d{1,10})\.(\d{1,10})>)?$/is.exec(atom);
  if (m) {
    const { section, label } = parseSection(m[2]!);
    const item: FetchItem = { kind: 'body', peek: m[1]!.toUpperCase() === 'BODY.PEEK', section, label: `BODY[${label}]` };
    if (m[3] !== undefined) {
      const length = Number(m[4]);
      if (length === 0) throw bad('Partial length must not be zero');
      item.partial = { start: Number(m[3]), length };
      item.label += `<${m[3]}>`;
    }
    return [item];
  }
  if (NOT_YET.has(upper) || /^(BODY|BINARY)(\.PEEK)?\[/i.test(atom)) throw no(`FETCH ${upper.replace(/\[.*$/, '[...]')} is not supported yet`, 'CANNOT');
  throw bad(`Invalid FETCH item ${atom}`);
}

/** The items of a FETCH command's second argument: one atom (or macro) or a list of atoms. */
export function parseFetchItems(arg: ImapArg): FetchItem[] {
  const atoms = arg.type === 'list' ? arg.items : [arg];
  if (atoms.length === 0) throw bad('Empty FETCH item list');
  const out: FetchItem[] = [];
  for (const a of atoms) {
    if (a.type !== 'atom') throw bad('Invalid FETCH item');
    if (arg.type === 'list' && ['FAST', 'ALL', 'FULL'].includes(a.value.toUpperCase())) throw bad(`${a.value.toUpperCase()} is a macro, not an item`);
    out.push(...parseItem(a.value));
  }
  return out;
}
