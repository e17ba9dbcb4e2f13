// Turning what a client typed (RCPT TO, LOGIN) into the address the directory is searched for.
// Deliberately small: full RFC 5321 parsing belongs to the protocol layer; here we only need
// local part and domain, and to refuse what can never match.

export interface ParsedAddress {
  local: string;
  /** Lower case, no trailing dot. */
  domain: string;
  /** local@domain with the domain lower-cased; the local part is kept as given. */
  address: string;
  /** Lower-cased address: the directory compares addresses case-insensitively (IA5 ignore case). */
  key: string;
}

const MAX_ADDRESS = 320;
const MAX_LOCAL = 64 * 4; // generous: quoted and UTF-8 local parts are longer than 64 octets

/**
 * Splits at the last "@" (a quoted local part may contain one). A bare name gets
 * `defaultDomain`. Returns null for input that no directory entry can match.
 */
export function parseAddress(input: string, defaultDomain: string): ParsedAddress | null {
  let s = input.trim();
  if (s.startsWith('<') && s.endsWith('>')) s = s.slice(1, -1).trim();
  if (s === '' || s.length > MAX_ADDRESS || /[\s\x00-\x1f\x7f]/.test(s)) return null;
  const at = s.lastIndexOf('@');
  const local = at < 0 ? s : s.slice(0, at);
  const domain = (at < 0 ? defaultDomain : s.slice(at + 1)).toLowerCase().replace(/\.$/, '');
  if (local === '' || local.length > MAX_LOCAL || domain === '' || domain.includes('@')) return null;
  const address = `${local}@${domain}`;
  return { local, domain, address, key: address.toLowerCase() };
}

/** Lower-cased domain name, or null if it cannot be one. */
export function normalizeDomain(input: string): string | null {
  const d = input.trim().toLowerCase().replace(/\.$/, '');
  return /^[a-z0-9_]([a-z0-9_.-]{0,251}[a-z0-9])?$/.test(d) && !d.includes('..') ? d : null;
}
