// The directory as the tiers see it: users, groups and domains by address, with a cache in
// front and failover behind. Every tier holds one Directory per process.
import type tls from 'node:tls';
import {
  AndFilter,
  EqualityFilter,
  NoSuchObjectError,
  OrFilter,
  PresenceFilter,
  ResultCodeError,
  type Entry,
  type Filter,
} from 'ldapts';
import type { DirectoryConfig } from '../config/schema.js';
import { parseAddress, normalizeDomain, type ParsedAddress } from './address.js';
import { LookupCache, normalizeDn } from './cache.js';
import {
  DOMAIN_ATTRIBUTES,
  GROUP_ATTRIBUTES,
  hasObjectClass,
  toDomain,
  toGroup,
  toUser,
  USER_ATTRIBUTES,
  type DirectoryDomain,
  type DirectoryGroup,
  type DirectoryUser,
} from './entries.js';
import { DirectoryDataError, DirectoryNotFoundError } from './errors.js';
import { isServerFailure } from './failures.js';
import { LdapPool, type PoolEvent } from './pool.js';

/** The subset of a pino logger the directory uses. */
export interface DirectoryLogger {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

export interface DirectoryOptions {
  logger?: DirectoryLogger;
  /** Clock for cache expiry and down-marking (tests). */
  now?: () => number;
  /** TLS options for ldaps:// URLs (CA bundle, client certificate). */
  tls?: tls.ConnectionOptions;
}

export interface DirectoryStats {
  /** LDAP operations sent (service binds, searches, user binds). */
  requests: number;
  /** Lookups answered without a request (including waits on an identical lookup in flight). */
  cacheHits: number;
  cacheMisses: number;
  /** Times a failed server was left for the next one. */
  failovers: number;
  cacheEntries: number;
  /** URLs currently skipped after a failure. */
  serversDown: string[];
}

export interface GroupMembers {
  users: DirectoryUser[];
  /** Nested groups; expanding them (with loop detection) is the caller's policy. */
  groups: DirectoryGroup[];
  /** mgrpRFC822MailMember values, as written. */
  addresses: string[];
  /** uniqueMember DNs that name no entry, or an entry that is neither user nor group. */
  unresolved: string[];
}

const MEMBER_READ_CONCURRENCY = 8;
const ENTRY_ATTRIBUTES = [...new Set([...USER_ATTRIBUTES, ...GROUP_ATTRIBUTES])];

const eq = (attribute: string, value: string): Filter => new EqualityFilter({ attribute, value });

/** (&(objectClass=cls)(|(mail=a)(mailAlternateAddress=a)(mailEquivalentAddress=a)...)) */
function byAddress(objectClass: string, addresses: readonly string[]): Filter {
  const any = addresses.flatMap((a) => [eq('mail', a), eq('mailAlternateAddress', a), eq('mailEquivalentAddress', a)]);
  return new AndFilter({ filters: [eq('objectClass', objectClass), new OrFilter({ filters: any })] });
}

/** RDNs of a DN, split at commas that are not escaped. */
function splitDn(dn: string): string[] {
  return dn.match(/(?:\\.|[^,\\])+/g)?.map((r) => r.trim()) ?? [];
}

export class Directory {
  private readonly pool: LdapPool;
  private readonly cache: LookupCache;
  private readonly baseDn: string;

  constructor(
    private readonly config: DirectoryConfig,
    options: DirectoryOptions = {},
  ) {
    this.baseDn = normalizeDn(config.baseDn);
    this.cache = new LookupCache({ ...config.cache, ...(options.now ? { now: options.now } : {}) });
    const logger = options.logger;
    this.pool = new LdapPool({
      urls: config.urls,
      bindDn: config.bindDn,
      bindPassword: config.bindPassword,
      timeoutMs: config.timeoutMs,
      connectTimeoutMs: config.connectTimeoutMs,
      poolSize: config.poolSize,
      retryDownAfterMs: config.retryDownAfterMs,
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.now ? { now: options.now } : {}),
      onEvent: logger ? (e: PoolEvent) => logEvent(logger, e) : undefined,
    });
  }

  /** The domain entry whose associatedDomain is `name` (a domain or one of its aliases). */
  findDomain(name: string): Promise<DirectoryDomain | null> {
    const domain = normalizeDomain(name);
    if (domain === null) return Promise.resolve(null);
    return this.cache.getOrLoad(`d:${domain}`, async () => {
      const filter = new AndFilter({ filters: [eq('objectClass', 'mailDomain'), eq('associatedDomain', domain)] });
      const entry = await this.searchOne('domain lookup', this.config.baseDn, filter, DOMAIN_ATTRIBUTES);
      return entry ? { value: toDomain(entry), dn: entry.dn } : { value: null };
    });
  }

  /**
   * The user owning `address` as mail, mailAlternateAddress or mailEquivalentAddress, searched
   * in the subtree of the address's domain. Bare names get the default domain. Addresses in a
   * domain alias also match the same local part in the canonical domain.
   */
  findUserByAddress(address: string): Promise<DirectoryUser | null> {
    const parsed = parseAddress(address, this.config.defaultDomain);
    if (!parsed) return Promise.resolve(null);
    return this.cache.getOrLoad(`u:${parsed.key}`, async () => {
      const domain = await this.findDomain(parsed.domain);
      if (!domain) return { value: null };
      const filter = byAddress('inetMailUser', candidates(parsed, domain));
      const entry = await this.searchOne('user lookup', domain.dn, filter, USER_ATTRIBUTES);
      return entry ? { value: toUser(entry, domain), dn: entry.dn } : { value: null };
    });
  }

  /** The user with `uid` in `domain` (default: the configured default domain). */
  findUserByUid(uid: string, domain: string = this.config.defaultDomain): Promise<DirectoryUser | null> {
    const name = normalizeDomain(domain);
    if (name === null || uid.trim() === '' || /[\x00-\x1f]/.test(uid)) return Promise.resolve(null);
    return this.cache.getOrLoad(`uid:${uid.trim().toLowerCase()}@${name}`, async () => {
      const dom = await this.findDomain(name);
      if (!dom) return { value: null };
      const filter = new AndFilter({ filters: [eq('objectClass', 'inetMailUser'), eq('uid', uid.trim())] });
      const entry = await this.searchOne('user lookup', dom.dn, filter, USER_ATTRIBUTES);
      return entry ? { value: toUser(entry, dom), dn: entry.dn } : { value: null };
    });
  }

  /** The group whose mail, mailAlternateAddress or mailEquivalentAddress is `address`. */
  findGroup(address: string): Promise<DirectoryGroup | null> {
    const parsed = parseAddress(address, this.config.defaultDomain);
    if (!parsed) return Promise.resolve(null);
    return this.cache.getOrLoad(`g:${parsed.key}`, async () => {
      const domain = await this.findDomain(parsed.domain);
      if (!domain) return { value: null };
      const filter = byAddress('inetMailGroup', candidates(parsed, domain));
      const entry = await this.searchOne('group lookup', domain.dn, filter, GROUP_ATTRIBUTES);
      return entry ? { value: toGroup(entry, domain), dn: entry.dn } : { value: null };
    });
  }

  /** Reads every uniqueMember DN of `group` (cached per DN); one level, no recursion. */
  /** The user or group entry at a DN (an LDAP URL's DN, a uniqueMember), or null. */
  findEntryByDn(dn: string): Promise<DirectoryUser | DirectoryGroup | null> {
    return this.readEntry(dn);
  }

  async resolveGroupMembers(group: DirectoryGroup): Promise<GroupMembers> {
    const out: GroupMembers = { users: [], groups: [], addresses: [...group.rfc822Members], unresolved: [] };
    const dns = [...new Set(group.memberDns)];
    const found = new Array<DirectoryUser | DirectoryGroup | null>(dns.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < dns.length) {
        const i = next++;
        found[i] = await this.readEntry(dns[i]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(MEMBER_READ_CONCURRENCY, dns.length) }, worker));
    found.forEach((entry, i) => {
      if (entry?.kind === 'user') out.users.push(entry);
      else if (entry?.kind === 'group') out.groups.push(entry);
      else out.unresolved.push(dns[i]!);
    });
    return out;
  }

  /**
   * Checks a password by binding as the user on a connection of its own (pooled connections
   * keep the service identity). `login` is an address or a uid (uid@domain or a bare uid in
   * the default domain). Returns the user, or null for an unknown login or a wrong password;
   * whether the account may log in (status, service access) is the caller's decision.
   */
  async authenticate(login: string, password: string): Promise<DirectoryUser | null> {
    // RFC 4513 5.1.2: a bind with a DN and an empty password is an unauthenticated bind,
    // which servers may answer with success. It must never count as a login.
    if (password === '') return null;
    const user = await this.findLoginUser(login);
    if (!user) return null;
    try {
      await this.pool.runFresh('authentication', (s) => s.bind(user.dn, password));
      return user;
    } catch (err) {
      // invalidCredentials, and anything else the server answers to a bind (a locked account,
      // an ACL without auth access): the login fails. Server trouble stays an exception.
      if (err instanceof ResultCodeError && !isServerFailure(err)) return null;
      throw err;
    }
  }

  async getUserByAddress(address: string): Promise<DirectoryUser> {
    return (await this.findUserByAddress(address)) ?? notFound('user', address);
  }

  async getUserByUid(uid: string, domain?: string): Promise<DirectoryUser> {
    return (await this.findUserByUid(uid, domain)) ?? notFound('user', domain ? `${uid}@${domain}` : uid);
  }

  async getGroup(address: string): Promise<DirectoryGroup> {
    return (await this.findGroup(address)) ?? notFound('group', address);
  }

  async getDomain(name: string): Promise<DirectoryDomain> {
    return (await this.findDomain(name)) ?? notFound('domain', name);
  }

  stats(): DirectoryStats {
    return {
      requests: this.pool.requests,
      cacheHits: this.cache.hits,
      cacheMisses: this.cache.misses,
      failovers: this.pool.failovers,
      cacheEntries: this.cache.size,
      serversDown: this.pool.downServers(),
    };
  }

  /**
   * Drops cached answers about `key` (an address, uid@domain, a domain or a DN), including the
   * other keys of the same entry; no key drops everything. Provisioning calls this after a
   * change so this process sees it before the TTL runs out. Returns the entries dropped.
   */
  invalidate(key?: string): number {
    return this.cache.invalidate(key);
  }

  async close(): Promise<void> {
    this.cache.invalidate();
    await this.pool.close();
  }

  /** The user a login name means: an address, uid@domain, or a bare uid in the default domain. */
  async findLoginUser(login: string): Promise<DirectoryUser | null> {
    const parsed = parseAddress(login, this.config.defaultDomain);
    if (!parsed) return null;
    if (login.includes('@')) {
      return (await this.findUserByAddress(login)) ?? (await this.findUserByUid(parsed.local, parsed.domain));
    }
    return (await this.findUserByUid(login)) ?? (await this.findUserByAddress(login));
  }

  /** At most one entry under `base`; two mean the directory data is inconsistent. */
  private async searchOne(operation: string, base: string, filter: Filter, attributes: string[]): Promise<Entry | null> {
    const timeLimit = Math.max(1, Math.ceil(this.config.timeoutMs / 1000));
    const entries = await this.pool.run(operation, async (s) => {
      try {
        return (await s.search(base, { scope: 'sub', filter, attributes, sizeLimit: 2, timeLimit })).searchEntries;
      } catch (err) {
        if (err instanceof NoSuchObjectError) return []; // the base (a domain) was just removed
        throw err;
      }
    });
    if (entries.length > 1) {
      throw new DirectoryDataError(
        `${operation}: ${filter.toString()} matches more than one entry under ${base}`,
        entries.map((e) => e.dn),
      );
    }
    return entries[0] ?? null;
  }

  /** The entry at `dn`, or null if absent. */
  private async readBase(operation: string, dn: string, filter: Filter, attributes: string[]): Promise<Entry | null> {
    return this.pool.run(operation, async (s) => {
      try {
        return (await s.search(dn, { scope: 'base', filter, attributes })).searchEntries[0] ?? null;
      } catch (err) {
        if (err instanceof NoSuchObjectError) return null;
        throw err;
      }
    });
  }

  /** A member entry by DN, as a user or a group (anything else is null). */
  private readEntry(dn: string): Promise<DirectoryUser | DirectoryGroup | null> {
    return this.cache.getOrLoad(`dn:${normalizeDn(dn)}`, async () => {
      const entry = await this.readBase('member read', dn, new PresenceFilter({ attribute: 'objectClass' }), ENTRY_ATTRIBUTES);
      if (!entry) return { value: null };
      const isGroup = hasObjectClass(entry, 'inetMailGroup');
      if (!isGroup && !hasObjectClass(entry, 'inetMailUser')) return { value: null };
      const domain = (await this.domainOfDn(entry.dn)) ?? this.placeholderDomain(entry);
      return { value: isGroup ? toGroup(entry, domain) : toUser(entry, domain), dn: entry.dn };
    });
  }

  /** The nearest ancestor of `dn` that is a mail domain, below the base DN. */
  private async domainOfDn(dn: string): Promise<DirectoryDomain | null> {
    const rdns = splitDn(dn);
    for (let i = 1; i < rdns.length; i++) {
      const ancestor = rdns.slice(i).join(',');
      if (normalizeDn(ancestor) === this.baseDn) break;
      const domain = await this.cache.getOrLoad(`ddn:${normalizeDn(ancestor)}`, async () => {
        const entry = await this.readBase('domain read', ancestor, eq('objectClass', 'mailDomain'), DOMAIN_ATTRIBUTES);
        return entry ? { value: toDomain(entry), dn: entry.dn } : { value: null };
      });
      if (domain) return domain;
    }
    return null;
  }

  /** For a member living outside every domain entry: its domain is that of its address. */
  private placeholderDomain(entry: Entry): DirectoryDomain {
    const mail = String([entry['mail']].flat()[0] ?? '');
    const name = normalizeDomain(mail.slice(mail.lastIndexOf('@') + 1)) ?? this.config.defaultDomain;
    return toDomain({ dn: `associatedDomain=${name}`, associatedDomain: name });
  }
}

/** The address as given, plus the same local part in the canonical domain for an alias. */
function candidates(parsed: ParsedAddress, domain: DirectoryDomain): string[] {
  return parsed.domain === domain.name ? [parsed.address] : [parsed.address, `${parsed.local}@${domain.name}`];
}

function notFound(kind: 'user' | 'group' | 'domain', key: string): never {
  throw new DirectoryNotFoundError(kind, key);
}

function logEvent(logger: DirectoryLogger, e: PoolEvent): void {
  if (e.type === 'up') logger.info({ ldapUrl: e.url }, 'directory server answering again');
  else if (e.type === 'down') {
    logger.warn({ ldapUrl: e.url, err: e.error, until: new Date(e.until).toISOString() }, 'directory server failed');
  } else logger.warn({ ldapUrl: e.from, next: e.to }, 'directory failover');
}
