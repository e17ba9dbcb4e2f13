// Writes domains, users and groups to the directory for `tiermail domain|user|group`.
// Layout: o=<domain>,<baseDn> holding <peopleRdn> (uid=<uid>) and <groupsRdn> (cn=<name>).
// Every write is checked first (zod input, address uniqueness in the domain) so the
// directory never holds two entries answering to one address.
import { Attribute, Change, Client, escapeFilter, NoSuchObjectError, type Entry } from 'ldapts';
import type { DirectoryConfig } from '../config/schema.js';
import { hashPassword } from '../password.js';
import {
  ProvisioningError,
  byteSize,
  domainName,
  mailAddress,
  parseWith,
  uidValue,
  type AttributeEdit,
} from './input.js';

export { ProvisioningError } from './input.js';

export const USER_CLASSES = ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'inetUser', 'inetMailUser'];
export const GROUP_CLASSES = ['top', 'tiermailGroup', 'inetMailGroup'];
export const DOMAIN_CLASSES = ['top', 'organization', 'mailDomain'];

export interface NewUser {
  address: string;
  password: string;
  uid?: string;
  cn?: string;
  sn?: string;
  mailHost: string;
  quota?: string | number;
  msgQuota?: number;
  alternates?: string[];
}

export interface NewDomain {
  domain: string;
  quota?: string | number;
  status?: 'active' | 'inactive';
}

export type EntryRecord = Record<string, string | string[]>;

function splitAddress(address: string): { local: string; domain: string } {
  const at = address.lastIndexOf('@');
  return { local: address.slice(0, at), domain: address.slice(at + 1) };
}

function record(entry: Entry): EntryRecord {
  const out: EntryRecord = { dn: entry.dn };
  for (const [k, v] of Object.entries(entry)) {
    if (k === 'dn') continue;
    const values = (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
    out[k] = values.length === 1 ? (values[0] as string) : values;
  }
  return out;
}

export class Provisioner {
  private client: Client | undefined;

  constructor(private readonly cfg: DirectoryConfig) {}

  private async connect(): Promise<Client> {
    if (this.client) return this.client;
    let lastError: unknown;
    // Writes go to the first server that answers, in the configured order.
    for (const url of this.cfg.urls) {
      const client = new Client({ url, timeout: this.cfg.timeoutMs, connectTimeout: this.cfg.connectTimeoutMs });
      try {
        await client.bind(this.cfg.adminDn ?? this.cfg.bindDn, this.cfg.adminPassword ?? this.cfg.bindPassword);
        this.client = client;
        return client;
      } catch (err) {
        lastError = err;
        await client.unbind().catch(() => undefined);
      }
    }
    const why = lastError instanceof Error ? lastError.message : String(lastError);
    throw new ProvisioningError(`cannot bind to the directory (${this.cfg.urls.join(', ')}): ${why}`);
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.unbind().catch(() => undefined);
  }

  domainDn(domain: string): string {
    return `o=${domain},${this.cfg.baseDn}`;
  }

  private async exists(dn: string): Promise<boolean> {
    const c = await this.connect();
    try {
      await c.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] });
      return true;
    } catch (err) {
      if (err instanceof NoSuchObjectError) return false;
      throw err;
    }
  }

  private async requireDomain(domain: string): Promise<string> {
    const dn = this.domainDn(domain);
    if (!(await this.exists(dn))) throw new ProvisioningError(`no such domain ${domain}; add it with: tiermail domain add ${domain}`);
    return dn;
  }

  /** Any entry in the domain that already answers to this address (as mail, alternate or equivalent). */
  private async addressOwner(address: string): Promise<string | undefined> {
    const { domain } = splitAddress(address);
    const c = await this.connect();
    const filter = escapeFilter`(|(mail=${address})(mailAlternateAddress=${address})(mailEquivalentAddress=${address}))`;
    try {
      const { searchEntries } = await c.search(this.domainDn(domain), { scope: 'sub', filter, attributes: ['1.1'], sizeLimit: 2 });
      return searchEntries[0]?.dn;
    } catch (err) {
      if (err instanceof NoSuchObjectError) return undefined;
      throw err;
    }
  }

  private async ensureFree(address: string): Promise<void> {
    const owner = await this.addressOwner(address);
    if (owner) throw new ProvisioningError(`${address} is already used by ${owner}`);
  }

  async addDomain(input: NewDomain): Promise<string> {
    const domain = parseWith(domainName, input.domain, 'domain');
    const dn = this.domainDn(domain);
    if (await this.exists(dn)) throw new ProvisioningError(`domain ${domain} exists already (${dn})`);
    const c = await this.connect();
    const attrs: Record<string, string | string[]> = {
      objectClass: DOMAIN_CLASSES,
      o: domain,
      associatedDomain: domain,
      mailDomainStatus: input.status ?? 'active',
    };
    if (input.quota !== undefined) attrs.mailQuota = String(parseWith(byteSize, input.quota, 'quota'));
    await c.add(dn, attrs);
    for (const rdn of [this.cfg.peopleRdn, this.cfg.groupsRdn]) {
      const [attr = 'ou', value = ''] = rdn.split('=');
      await c.add(`${rdn},${dn}`, { objectClass: ['top', 'organizationalUnit'], [attr]: value });
    }
    return dn;
  }

  async listDomains(): Promise<EntryRecord[]> {
    const c = await this.connect();
    const { searchEntries } = await c.search(this.cfg.baseDn, {
      scope: 'one',
      filter: '(objectClass=mailDomain)',
      attributes: ['associatedDomain', 'mailDomainStatus', 'mailQuota', 'mailDomainDiskQuota'],
    });
    return searchEntries.map(record).sort((a, b) => String(a.associatedDomain).localeCompare(String(b.associatedDomain)));
  }

  async addUser(input: NewUser): Promise<string> {
    const address = parseWith(mailAddress, input.address, 'address');
    const { local, domain } = splitAddress(address);
    const uid = parseWith(uidValue, input.uid ?? local, 'uid');
    if (input.password.length < 8) throw new ProvisioningError('password: expected at least 8 characters');
    const domainDn = await this.requireDomain(domain);
    const dn = `uid=${uid},${this.cfg.peopleRdn},${domainDn}`;
    if (await this.exists(dn)) throw new ProvisioningError(`user ${uid} exists already in ${domain} (${dn})`);
    const alternates = (input.alternates ?? []).map((a) => parseWith(mailAddress, a, 'alternate address'));
    for (const a of [address, ...alternates]) await this.ensureFree(a);
    const attrs: Record<string, string | string[]> = {
      objectClass: USER_CLASSES,
      uid,
      cn: input.cn ?? uid,
      sn: input.sn ?? input.cn ?? uid,
      mail: address,
      userPassword: hashPassword(input.password),
      mailHost: input.mailHost,
      mailDeliveryOption: 'mailbox',
      inetUserStatus: 'active',
      mailUserStatus: 'active',
    };
    if (alternates.length) attrs.mailAlternateAddress = alternates;
    if (input.quota !== undefined) attrs.mailQuota = String(parseWith(byteSize, input.quota, 'quota'));
    if (input.msgQuota !== undefined) attrs.mailMsgQuota = String(input.msgQuota);
    await (await this.connect()).add(dn, attrs);
    return dn;
  }

  /** Find a user entry by address (any address attribute) or by uid in the default domain. */
  async findUser(who: string): Promise<EntryRecord | undefined> {
    const isAddress = who.includes('@');
    const domain = isAddress ? splitAddress(who).domain.toLowerCase() : this.cfg.defaultDomain;
    const filter = isAddress
      ? escapeFilter`(&(objectClass=inetMailUser)(|(mail=${who})(mailAlternateAddress=${who})(mailEquivalentAddress=${who})))`
      : escapeFilter`(&(objectClass=inetMailUser)(uid=${who}))`;
    const c = await this.connect();
    try {
      const { searchEntries } = await c.search(`${this.cfg.peopleRdn},${this.domainDn(domain)}`, { scope: 'sub', filter, attributes: ['*'] });
      const e = searchEntries[0];
      return e ? this.readDn(e.dn) : undefined;
    } catch (err) {
      if (err instanceof NoSuchObjectError) return undefined;
      throw err;
    }
  }

  private async requireUser(who: string): Promise<EntryRecord> {
    const u = await this.findUser(who);
    if (!u) throw new ProvisioningError(`no such user ${who}`);
    return u;
  }

  async setUser(who: string, edits: AttributeEdit[]): Promise<EntryRecord> {
    const user = await this.requireUser(who);
    for (const e of edits) {
      if (['mail', 'mailAlternateAddress', 'mailEquivalentAddress'].includes(e.attribute) && e.operation !== 'delete') {
        for (const a of e.values) {
          const owner = await this.addressOwner(a);
          if (owner && owner.toLowerCase() !== String(user.dn).toLowerCase()) throw new ProvisioningError(`${a} is already used by ${owner}`);
        }
      }
    }
    const changes = edits.map(
      (e) => new Change({ operation: e.operation, modification: new Attribute({ type: e.attribute, values: e.values }) }),
    );
    await (await this.connect()).modify(String(user.dn), changes);
    return this.readDn(String(user.dn));
  }

  /** The entry at dn, without its password hash. */
  async readDn(dn: string): Promise<EntryRecord> {
    const { searchEntries } = await (await this.connect()).search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: ['*'] });
    const e = searchEntries[0];
    if (!e) throw new ProvisioningError(`entry vanished: ${dn}`);
    const r = record(e);
    delete r.userPassword;
    return r;
  }

  async setPassword(who: string, password: string): Promise<void> {
    if (password.length < 8) throw new ProvisioningError('password: expected at least 8 characters');
    const user = await this.requireUser(who);
    const change = new Change({ operation: 'replace', modification: new Attribute({ type: 'userPassword', values: [hashPassword(password)] }) });
    await (await this.connect()).modify(String(user.dn), change);
  }

  async deleteUser(who: string): Promise<string> {
    const user = await this.requireUser(who);
    await (await this.connect()).del(String(user.dn));
    return String(user.dn);
  }

  async addGroup(address: string, members: string[] = []): Promise<string> {
    const addr = parseWith(mailAddress, address, 'group address');
    const { local, domain } = splitAddress(addr);
    const domainDn = await this.requireDomain(domain);
    const dn = `cn=${parseWith(uidValue, local, 'group name')},${this.cfg.groupsRdn},${domainDn}`;
    if (await this.exists(dn)) throw new ProvisioningError(`group ${addr} exists already (${dn})`);
    await this.ensureFree(addr);
    const { dns, addresses } = this.splitMembers(members);
    const attrs: Record<string, string | string[]> = { objectClass: GROUP_CLASSES, cn: local, mail: addr };
    if (dns.length) attrs.uniqueMember = dns;
    if (addresses.length) attrs.mgrpRFC822MailMember = addresses;
    await (await this.connect()).add(dn, attrs);
    return dn;
  }

  private splitMembers(members: string[]): { dns: string[]; addresses: string[] } {
    const dns: string[] = [];
    const addresses: string[] = [];
    for (const m of members) {
      if (/^[a-zA-Z]+=/.test(m)) dns.push(m);
      else addresses.push(parseWith(mailAddress, m, 'member'));
    }
    return { dns, addresses };
  }

  async findGroup(address: string): Promise<EntryRecord | undefined> {
    const addr = parseWith(mailAddress, address, 'group address');
    const c = await this.connect();
    try {
      const { searchEntries } = await c.search(`${this.cfg.groupsRdn},${this.domainDn(splitAddress(addr).domain)}`, {
        scope: 'sub',
        filter: escapeFilter`(&(objectClass=inetMailGroup)(|(mail=${addr})(mailAlternateAddress=${addr})))`,
      });
      return searchEntries[0] ? record(searchEntries[0]) : undefined;
    } catch (err) {
      if (err instanceof NoSuchObjectError) return undefined;
      throw err;
    }
  }

  /** Add and remove members (addresses or DNs); returns the group afterwards. */
  async editMembers(address: string, add: string[], remove: string[]): Promise<EntryRecord> {
    const group = await this.findGroup(address);
    if (!group) throw new ProvisioningError(`no such group ${address}`);
    const changes: Change[] = [];
    const plus = this.splitMembers(add);
    const minus = this.splitMembers(remove);
    const push = (operation: 'add' | 'delete', type: string, values: string[]): void => {
      if (values.length) changes.push(new Change({ operation, modification: new Attribute({ type, values }) }));
    };
    push('add', 'uniqueMember', plus.dns);
    push('add', 'mgrpRFC822MailMember', plus.addresses);
    push('delete', 'uniqueMember', minus.dns);
    push('delete', 'mgrpRFC822MailMember', minus.addresses);
    if (changes.length) await (await this.connect()).modify(String(group.dn), changes);
    return (await this.findGroup(address)) as EntryRecord;
  }
}
