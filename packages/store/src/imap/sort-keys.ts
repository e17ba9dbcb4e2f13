// What SORT and THREAD (RFC 5256) compare: the base subject (2.1), the first address's
// mailbox, the sent date (Date header, else the internal date), with the i;ascii-casemap
// comparator. Pure functions over a message's header.
import { parseAddressList } from '../mime/address.js';
import { decodeEncodedWords, headerValues } from './message-parts.js';

const LEADER = /^(?:\[[^[\]]*\]\s*)*(?:re|fwd?)\s*(?:\[[^[\]]*\])?\s*:\s*/i;
const BLOB = /^\[[^[\]]*\]\s*/;

/** RFC 5256 2.1: the subject without reply/forward markers, for sorting and threading. */
export function baseSubject(raw: string): string {
  let s = decodeEncodedWords(raw).replace(/[\t\r\n ]+/g, ' ').trim();
  for (;;) {
    const before = s;
    // (2) trailing "(fwd)" and white space
    while (/\s*\(fwd\)\s*$/i.test(s)) s = s.replace(/\s*\(fwd\)\s*$/i, '').trimEnd();
    // (3) leading subj-leader and subj-blob, as long as something remains
    for (;;) {
      const m = LEADER.exec(s);
      if (m) {
        s = s.slice(m[0].length);
        continue;
      }
      const b = BLOB.exec(s);
      if (b && b[0].length < s.length) {
        s = s.slice(b[0].length);
        continue;
      }
      break;
    }
    // (6) "[fwd: ... ]" wrapping
    const fwd = /^\[fwd:\s*(.*)\]$/i.exec(s);
    if (fwd) s = fwd[1]!.trim();
    if (s === before) return s;
  }
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** The Date header as epoch ms (RFC 5322 date-time, zone applied), or null. */
export function sentDate(header: Buffer): number | null {
  const v = headerValues(header, 'Date')[0];
  if (!v) return null;
  const m = /(\d{1,2})\s+([A-Za-z]{3})[a-z]*\s+(\d{2,4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([+-]\d{4}|[A-Z]{1,5})?/.exec(v);
  if (!m) return null;
  const month = MONTHS.indexOf(m[2]!.toLowerCase());
  if (month < 0) return null;
  let year = Number(m[3]);
  if (year < 100) year += year < 50 ? 2000 : 1900;
  let t = Date.UTC(year, month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
  const zone = m[7];
  if (zone && /^[+-]\d{4}$/.test(zone)) {
    const sign = zone[0] === '-' ? -1 : 1;
    t -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3))) * 60_000;
  }
  return Number.isNaN(t) ? null : t;
}

/** RFC 5256: the addr-mailbox of the first address of the field, lower-cased; "" if none. */
export function firstMailbox(header: Buffer, field: string): string {
  const v = headerValues(header, field)[0];
  if (!v) return '';
  const first = parseAddressList(v).find((a) => a.host !== null || a.mailbox !== null);
  return (first?.mailbox ?? '').toLowerCase();
}

export function compareText(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Message-IDs in a header field, in order ("<a@b>" tokens). */
export function messageIds(value: string | undefined): string[] {
  return value ? [...value.matchAll(/<([^<>\s]+)>/g)].map((m) => m[1]!) : [];
}
