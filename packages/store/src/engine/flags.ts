// Message flags: system flags keep one canonical spelling whatever case a client used, so
// comparisons and the file-name letters stay simple; keywords are IMAP atoms kept as given.
import { StoreError } from './errors.js';

const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];
const SYSTEM_BY_LOWER = new Map(SYSTEM_FLAGS.map((f) => [f.toLowerCase(), f]));
// atom-char minus the backslash: no space, parentheses, braces, quotes, wildcards, "]".
const KEYWORD = /^[!#$&'+,\-.0-9:;<=>?@A-Z^_`a-z|~]{1,128}$/;

export function normalizeFlag(flag: string): string {
  if (flag.startsWith('\\')) {
    const system = SYSTEM_BY_LOWER.get(flag.toLowerCase());
    if (!system) throw new StoreError('notAllowed', `flag ${flag} cannot be stored`);
    return system;
  }
  if (!KEYWORD.test(flag)) throw new StoreError('notAllowed', `invalid keyword ${JSON.stringify(flag)}`);
  return flag;
}

export function normalizeFlags(flags: Iterable<string>): string[] {
  return [...new Set([...flags].map(normalizeFlag))].sort();
}

export function parseFlagColumn(value: string): string[] {
  return value === '' ? [] : value.split(' ');
}

export function formatFlagColumn(flags: string[]): string {
  return normalizeFlags(flags).join(' ');
}
