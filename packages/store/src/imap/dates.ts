// IMAP dates (RFC 3501 section 9): date-time for INTERNALDATE and APPEND
// ("17-Jul-1996 02:44:25 -0700") and the day-only date of SEARCH keys ("1-Feb-1994").

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function monthIndex(name: string): number {
  return MONTHS.findIndex((m) => m.toLowerCase() === name.toLowerCase());
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** INTERNALDATE in UTC: a fixed zone keeps one spelling per instant whatever the host's zone. */
export function formatDateTime(d: Date): string {
  return `"${pad(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(
    d.getUTCSeconds(),
  )} +0000"`;
}

/** date-time of APPEND: ` 7-Jul-1996 02:44:25 -0700` (day may be space-padded); null if invalid. */
export function parseDateTime(s: string): Date | null {
  const m = /^([ \d]?\d)-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(s);
  if (!m) return null;
  const day = Number(m[1]!.trim());
  const month = monthIndex(m[2]!);
  const [year, hh, mm, ss, zh, zm] = [m[3], m[4], m[5], m[6], m[8], m[9]].map(Number) as [number, number, number, number, number, number];
  if (month < 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || zm > 59) return null;
  const offsetMin = (m[7] === '-' ? -1 : 1) * (zh * 60 + zm);
  const ms = Date.UTC(year, month, day, hh, mm, ss) - offsetMin * 60_000;
  const d = new Date(ms);
  if (new Date(Date.UTC(year, month, day)).getUTCDate() !== day) return null;
  return Number.isNaN(ms) ? null : d;
}

/** date of SEARCH (d-Mon-yyyy, optionally quoted by the caller): the UTC midnight of that day. */
export function parseSearchDate(s: string): number | null {
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(s);
  if (!m) return null;
  const month = monthIndex(m[2]!);
  const day = Number(m[1]);
  if (month < 0 || day < 1 || day > 31) return null;
  const ms = Date.UTC(Number(m[3]), month, day);
  return new Date(ms).getUTCDate() === day ? ms : null;
}

/** The UTC day (midnight, ms) an instant falls on: SEARCH compares dates without time. */
export function utcDay(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}
