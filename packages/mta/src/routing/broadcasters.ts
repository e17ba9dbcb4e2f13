// Who may send to a group (mgrpAllowedBroadcaster). No value: anyone. Each value admits
// senders one way: "mailto:addr" (or a bare address) that one address; "ldap:///DN" the user
// at DN, or every member of the group at DN (nested groups included, so a list restricted to
// its own members names itself). The envelope sender is compared; for authenticated
// submission the user's own addresses count too.
import type { Directory, DirectoryGroup, DirectoryUser } from '@tiermail/core';

const MAX_DEPTH = 10;

function addressesOf(u: DirectoryUser): string[] {
  return [u.mail, ...u.alternateAddresses, ...u.equivalentAddresses, `${u.uid}@${u.domain}`].filter((a): a is string => !!a).map((a) => a.toLowerCase());
}

/** The DN of an LDAP URL ("ldap:///uid=x,ou=People,o=..." or with a host and ?attrs), or null. */
export function dnOfLdapUrl(url: string): string | null {
  const m = /^ldaps?:\/\/[^/]*\/([^?]*)/i.exec(url.trim());
  return m?.[1] ? decodeURIComponent(m[1]) : null;
}

async function memberOf(dir: Directory, entry: DirectoryUser | DirectoryGroup, senders: Set<string>, seen: Set<string>, depth: number): Promise<boolean> {
  if (entry.kind === 'user') return addressesOf(entry).some((a) => senders.has(a));
  if (depth > MAX_DEPTH || seen.has(entry.dn.toLowerCase())) return false;
  seen.add(entry.dn.toLowerCase());
  if (entry.rfc822Members.some((a) => senders.has(a.toLowerCase()))) return true;
  const members = await dir.resolveGroupMembers(entry);
  if (members.addresses.some((a) => senders.has(a.toLowerCase()))) return true;
  for (const u of members.users) if (addressesOf(u).some((a) => senders.has(a))) return true;
  for (const g of members.groups) if (await memberOf(dir, g, senders, seen, depth + 1)) return true;
  return false;
}

/**
 * May `senders` (the envelope sender, plus an authenticated user's addresses) post to `group`?
 * Throws when the directory cannot answer (the RCPT then gets a 4xx, never a wrong refusal).
 */
export async function mayBroadcast(dir: Directory, group: DirectoryGroup, senders: readonly string[]): Promise<boolean> {
  if (group.allowedBroadcasters.length === 0) return true;
  const set = new Set(senders.filter((s) => s !== '').map((s) => s.toLowerCase()));
  if (set.size === 0) return false;
  for (const value of group.allowedBroadcasters) {
    const dn = dnOfLdapUrl(value);
    if (dn === null) {
      if (set.has(value.replace(/^mailto:/i, '').trim().toLowerCase())) return true;
      continue;
    }
    const entry = await dir.findEntryByDn(dn);
    if (entry && (await memberOf(dir, entry, set, new Set(), 0))) return true;
  }
  return false;
}
