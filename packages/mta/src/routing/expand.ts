// Turns one recipient address into the deliveries it stands for, with the directory: a user
// gives their mailbox (and/or forwarding targets), a group gives its members (by address and
// by DN, nested), an address in a domain we do not host gives a remote delivery. Loops (a
// group containing itself, two users forwarding to each other) end at the first repeat; depth
// and size are bounded so a directory mistake cannot expand into millions of deliveries.
import {
  DirectoryDataError,
  isUserActive,
  parseAddress,
  type Directory,
  type DirectoryGroup,
  type DirectoryUser,
} from '@tiermail/core';
import { mayBroadcast } from './broadcasters.js';
import { routeKey, type Route } from './route.js';

export interface ExpandLimits {
  maxDepth: number;
  maxRoutes: number;
  defaultDomain: string;
  /** Who is sending (envelope sender, authenticated user), for mgrpAllowedBroadcaster; absent = not checked. */
  senders?: readonly string[];
}

export type Expansion =
  | { kind: 'routes'; routes: Route[]; skipped: Array<{ address: string; reason: string }> }
  | { kind: 'unknown' }
  | { kind: 'disabled' }
  | { kind: 'forbidden' }
  | { kind: 'not-local' };

const isActive = (status: string | null): boolean => (status ?? 'active') === 'active';

class Expander {
  readonly routes = new Map<string, Route>();
  readonly skipped: Array<{ address: string; reason: string }> = [];
  private readonly seen = new Set<string>();

  constructor(
    private readonly dir: Directory,
    private readonly limits: ExpandLimits,
    private readonly orcpt: string,
  ) {}

  private add(route: Omit<Route, 'orcpt'>): void {
    if (this.routes.size >= this.limits.maxRoutes) {
      this.skipped.push({ address: route.to, reason: `more than ${this.limits.maxRoutes} recipients` });
      return;
    }
    const key = routeKey(route);
    if (!this.routes.has(key)) this.routes.set(key, { orcpt: this.orcpt, ...route });
  }

  /** First visit of an entry or address; false on a repeat (a loop or a diamond). */
  private visit(key: string): boolean {
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    return true;
  }

  /** Resolves an address; returns what it was, so the top level can answer the RCPT. */
  async address(address: string, depth: number): Promise<'ok' | 'unknown' | 'disabled' | 'forbidden' | 'not-local'> {
    const parsed = parseAddress(address, this.limits.defaultDomain);
    if (!parsed) return 'unknown';
    if (!this.visit(`a:${parsed.key}`)) return 'ok';
    const domain = await this.dir.findDomain(parsed.domain);
    if (!domain) {
      this.add({ to: parsed.address, channel: 'smtp', destination: parsed.domain, quotaBytes: -1, quotaMessages: -1 });
      return 'not-local';
    }
    if (!isActive(domain.status)) return 'disabled';
    const user = await this.dir.findUserByAddress(parsed.address);
    if (user) return this.user(user, depth);
    const group = await this.dir.findGroup(parsed.address);
    if (group) return this.group(group, depth);
    return 'unknown';
  }

  async user(user: DirectoryUser, depth: number): Promise<'ok' | 'disabled'> {
    if (!this.visit(`dn:${user.dn.toLowerCase()}`)) return 'ok';
    if (!isUserActive(user)) return 'disabled';
    const forwards = user.deliveryOptions.includes('forward') ? user.forwardingAddresses : [];
    // Without a usable forward the mailbox gets the mail, whatever else the options say:
    // dropping mail because an entry says "forward" with no address would be silent loss.
    const mailbox = user.deliveryOptions.includes('mailbox') || forwards.length === 0;
    if (mailbox) {
      if (!user.mailHost) throw new DirectoryDataError(`user ${user.dn} has no mailHost`, [user.dn]);
      this.add({
        to: `${user.uid}@${user.domain}`.toLowerCase(),
        channel: 'lmtp',
        destination: user.mailHost,
        quotaBytes: user.effectiveQuotaBytes ?? -1,
        quotaMessages: user.effectiveQuotaMessages ?? -1,
      });
    }
    for (const target of forwards) await this.member(target, depth + 1, `forward of ${user.uid}@${user.domain}`);
    return 'ok';
  }

  async group(group: DirectoryGroup, depth: number): Promise<'ok' | 'disabled' | 'forbidden'> {
    if (!this.visit(`dn:${group.dn.toLowerCase()}`)) return 'ok';
    if (!isActive(group.status)) return 'disabled';
    if (this.limits.senders && !(await mayBroadcast(this.dir, group, this.limits.senders))) return 'forbidden';
    if (depth >= this.limits.maxDepth) {
      this.skipped.push({ address: group.mail, reason: `nested deeper than ${this.limits.maxDepth}` });
      return 'ok';
    }
    const members = await this.dir.resolveGroupMembers(group);
    for (const u of members.users) {
      if ((await this.user(u, depth + 1)) === 'disabled') this.skipped.push({ address: u.mail ?? u.dn, reason: 'inactive' });
    }
    for (const g of members.groups) {
      const r = await this.group(g, depth + 1);
      if (r !== 'ok') this.skipped.push({ address: g.mail, reason: r === 'disabled' ? 'inactive group' : 'sender not allowed to post to this group' });
    }
    for (const a of members.addresses) await this.member(a, depth + 1, `member of ${group.mail}`);
    for (const dn of members.unresolved) this.skipped.push({ address: dn, reason: 'uniqueMember names no user or group' });
    return 'ok';
  }

  /** A member or forwarding target: problems are noted, never fatal to the whole recipient. */
  private async member(address: string, depth: number, why: string): Promise<void> {
    if (depth > this.limits.maxDepth) {
      this.skipped.push({ address, reason: `${why}: nested deeper than ${this.limits.maxDepth}` });
      return;
    }
    const r = await this.address(address, depth);
    if (r === 'unknown' || r === 'disabled' || r === 'forbidden') this.skipped.push({ address, reason: `${why}: ${r}` });
  }
}

export async function expandRecipient(dir: Directory, address: string, limits: ExpandLimits): Promise<Expansion> {
  const ex = new Expander(dir, limits, address);
  const r = await ex.address(address, 0);
  if (r === 'unknown' || r === 'disabled' || r === 'forbidden') return { kind: r };
  if (r === 'not-local') return { kind: 'not-local' };
  return { kind: 'routes', routes: [...ex.routes.values()], skipped: ex.skipped };
}
