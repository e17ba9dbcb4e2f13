// SEARCH keys (RFC 3501 6.4.4) parsed into a tree and evaluated per message. Every key of
// RFC 3501 is here. Text keys match case-insensitively as substrings of the header values
// (RFC 2047 words decoded) or of the raw body; transfer encodings of the body are not decoded
// yet (the MIME module will). \Recent is not tracked, so RECENT and NEW match nothing.
import { parseSearchDate, utcDay } from '../dates.js';
import { bad } from '../errors.js';
import { headerOf, headerValues, textOf } from '../message-parts.js';
import type { ImapArg } from '../parser.js';
import { parseSequenceSet, seqSetContains, type SequenceSet } from '../seqset.js';
import type { MessageInfo } from '../../engine/index.js';
import { argText, parseFlag } from './args.js';

export type SearchKey =
  | { k: 'all' }
  | { k: 'none' }
  | { k: 'flag'; flag: string; set: boolean }
  | { k: 'seq'; set: SequenceSet }
  | { k: 'uid'; set: SequenceSet }
  | { k: 'date'; sent: boolean; op: 'before' | 'on' | 'since'; day: number }
  | { k: 'size'; larger: boolean; n: number }
  /** CONDSTORE (RFC 7162 3.1.5): MODSEQ at or above n. */
  | { k: 'modseq'; n: number }
  | { k: 'header'; name: string; value: string }
  | { k: 'body'; value: string }
  | { k: 'text'; value: string }
  | { k: 'not'; key: SearchKey }
  | { k: 'or'; a: SearchKey; b: SearchKey }
  | { k: 'and'; keys: SearchKey[] };

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ['\\Answered', true],
  DELETED: ['\\Deleted', true],
  DRAFT: ['\\Draft', true],
  FLAGGED: ['\\Flagged', true],
  SEEN: ['\\Seen', true],
  UNANSWERED: ['\\Answered', false],
  UNDELETED: ['\\Deleted', false],
  UNDRAFT: ['\\Draft', false],
  UNFLAGGED: ['\\Flagged', false],
  UNSEEN: ['\\Seen', false],
};
const DATE_KEYS: Record<string, [boolean, 'before' | 'on' | 'since']> = {
  BEFORE: [false, 'before'],
  ON: [false, 'on'],
  SINCE: [false, 'since'],
  SENTBEFORE: [true, 'before'],
  SENTON: [true, 'on'],
  SENTSINCE: [true, 'since'],
};
const HEADER_KEYS = new Set(['BCC', 'CC', 'FROM', 'SUBJECT', 'TO']);
const MAX_DEPTH = 32;

export class SearchParser {
  private i = 0;
  constructor(private readonly items: ImapArg[]) {}

  /** All remaining keys, ANDed. */
  parseAll(): SearchKey {
    const keys: SearchKey[] = [];
    while (this.i < this.items.length) keys.push(this.key(0));
    if (keys.length === 0) throw bad('Missing search criteria');
    return keys.length === 1 ? keys[0]! : { k: 'and', keys };
  }

  private take(what: string): ImapArg {
    const a = this.items[this.i++];
    if (!a) throw bad(`Missing ${what}`);
    return a;
  }

  private str(what: string): string {
    const t = argText(this.take(what));
    if (t === null) throw bad(`Expected ${what}`);
    return t;
  }

  private key(depth: number): SearchKey {
    if (depth > MAX_DEPTH) throw bad('Search criteria nested too deeply');
    const a = this.take('search key');
    if (a.type === 'list') {
      const sub = new SearchParser(a.items);
      const keys: SearchKey[] = [];
      while (sub.i < sub.items.length) keys.push(sub.key(depth + 1));
      if (keys.length === 0) throw bad('Empty search list');
      return keys.length === 1 ? keys[0]! : { k: 'and', keys };
    }
    if (a.type !== 'atom') throw bad('Invalid search key');
    const name = a.value.toUpperCase();
    const flag = FLAG_KEYS[name];
    if (flag) return { k: 'flag', flag: flag[0], set: flag[1] };
    const date = DATE_KEYS[name];
    if (date) {
      const day = parseSearchDate(this.str('date'));
      if (day === null) throw bad('Invalid date');
      return { k: 'date', sent: date[0], op: date[1], day };
    }
    if (HEADER_KEYS.has(name)) return { k: 'header', name, value: this.str('search string') };
    switch (name) {
      case 'ALL':
      case 'OLD':
        return { k: 'all' };
      case 'RECENT':
      case 'NEW':
        return { k: 'none' };
      case 'KEYWORD':
      case 'UNKEYWORD':
        return { k: 'flag', flag: parseFlag(this.take('keyword')), set: name === 'KEYWORD' };
      case 'HEADER':
        return { k: 'header', name: this.str('header name'), value: this.str('search string') };
      case 'BODY':
        return { k: 'body', value: this.str('search string') };
      case 'TEXT':
        return { k: 'text', value: this.str('search string') };
      case 'LARGER':
      case 'SMALLER': {
        const n = this.str('size');
        if (!/^\d{1,15}$/.test(n)) throw bad('Invalid size');
        return { k: 'size', larger: name === 'LARGER', n: Number(n) };
      }
      case 'NOT':
        return { k: 'not', key: this.key(depth + 1) };
      case 'OR':
        return { k: 'or', a: this.key(depth + 1), b: this.key(depth + 1) };
      case 'MODSEQ': {
        // Optional entry name and type (per-flag MODSEQs are not kept: the message's applies).
        if (this.items[this.i]?.type === 'quoted') {
          this.take('entry name');
          const type = this.str('entry type').toLowerCase();
          if (type !== 'priv' && type !== 'shared' && type !== 'all') throw bad('Invalid entry type');
        }
        const n = this.str('mod-sequence');
        if (!/^\d{1,19}$/.test(n)) throw bad('Invalid mod-sequence');
        return { k: 'modseq', n: Number(n) };
      }
      case 'UID': {
        const set = parseSequenceSet(this.str('UID set'));
        if (!set) throw bad('Invalid UID set');
        return { k: 'uid', set };
      }
    }
    const set = parseSequenceSet(a.value);
    if (set) return { k: 'seq', set };
    throw bad(`Unknown search key ${a.value}`);
  }
}

/** Whether the key uses MODSEQ (the search then turns CONDSTORE on and reports MODSEQ). */
export function usesModseq(key: SearchKey): boolean {
  switch (key.k) {
    case 'modseq':
      return true;
    case 'not':
      return usesModseq(key.key);
    case 'or':
      return usesModseq(key.a) || usesModseq(key.b);
    case 'and':
      return key.keys.some(usesModseq);
    default:
      return false;
  }
}

/** Whether evaluating the key needs the body (else the header block is enough). */
export function needsBody(key: SearchKey): boolean {
  switch (key.k) {
    case 'body':
    case 'text':
      return true;
    case 'not':
      return needsBody(key.key);
    case 'or':
      return needsBody(key.a) || needsBody(key.b);
    case 'and':
      return key.keys.some(needsBody);
    default:
      return false;
  }
}

/** Whether evaluating the key needs the message's bytes (header or body). */
export function needsMessage(key: SearchKey): boolean {
  switch (key.k) {
    case 'header':
    case 'body':
    case 'text':
      return true;
    case 'date':
      return key.sent;
    case 'not':
      return needsMessage(key.key);
    case 'or':
      return needsMessage(key.a) || needsMessage(key.b);
    case 'and':
      return key.keys.some(needsMessage);
    default:
      return false;
  }
}

export interface SearchSubject {
  seq: number;
  info: MessageInfo;
  /** Number of messages and highest UID: what "*" means for each kind of set. */
  maxSeq: number;
  maxUid: number;
  msg: Buffer | null;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** The day of the Date header as written (its own zone, time ignored, as RFC 3501 says). */
function sentDay(header: Buffer): number | null {
  const value = headerValues(header, 'Date')[0];
  const m = value && /(\d{1,2})\s+([A-Za-z]{3})[a-z]*\s+(\d{2,4})/.exec(value);
  if (!m) return null;
  const month = MONTHS.indexOf(m[2]!.toLowerCase());
  if (month < 0) return null;
  let year = Number(m[3]);
  if (year < 100) year += year < 50 ? 2000 : 1900;
  return Date.UTC(year, month, Number(m[1]));
}

function compareDay(day: number | null, op: 'before' | 'on' | 'since', ref: number): boolean {
  if (day === null) return false;
  return op === 'before' ? day < ref : op === 'on' ? day === ref : day >= ref;
}

const contains = (hay: string, needle: string): boolean => hay.toLowerCase().includes(needle.toLowerCase());

export function matches(key: SearchKey, s: SearchSubject): boolean {
  switch (key.k) {
    case 'all':
      return true;
    case 'none':
      return false;
    case 'flag':
      return s.info.flags.includes(key.flag) === key.set;
    case 'seq':
      return seqSetContains(key.set, s.seq, s.maxSeq);
    case 'uid':
      return seqSetContains(key.set, s.info.uid, s.maxUid);
    case 'date':
      return compareDay(key.sent ? sentDay(headerOf(s.msg!)) : utcDay(s.info.internalDate.getTime()), key.op, key.day);
    case 'size':
      return key.larger ? s.info.size > key.n : s.info.size < key.n;
    case 'modseq':
      return s.info.modseq >= key.n;
    case 'header': {
      const values = headerValues(headerOf(s.msg!), key.name);
      // HEADER name "" matches every message that has the field (RFC 3501 6.4.4).
      return key.value === '' ? values.length > 0 : values.some((v) => contains(v, key.value));
    }
    case 'body':
      return contains(textOf(s.msg!).toString('utf8'), key.value);
    case 'text':
      return contains(s.msg!.toString('utf8'), key.value) || headerValues(headerOf(s.msg!), 'Subject').some((v) => contains(v, key.value));
    case 'not':
      return !matches(key.key, s);
    case 'or':
      return matches(key.a, s) || matches(key.b, s);
    case 'and':
      return key.keys.every((k) => matches(k, s));
  }
}
