// Directory content: the suffix entry every instance needs, and the demo domain of the local
// stack and the tests (DESIGN.md "The local stack"): example.test with alice, bob and staff@.
import { hashPassword } from '../password.js';
import { escapeDnValue, ldifEntry, ldifJoin } from './ldif.js';

/** The entry of the suffix itself (o=..., dc=... or ou=...), which slapadd needs first. */
export function suffixLdif(suffix: string): string {
  const m = /^\s*(o|dc|ou)=([^,]+?)\s*(,|$)/i.exec(suffix);
  if (!m?.[1] || !m[2]) throw new Error(`suffix ${suffix}: expected it to start with o=, dc= or ou=`);
  const attr = m[1].toLowerCase();
  const value = m[2];
  if (attr === 'o') return ldifEntry(suffix, [['objectClass', ['top', 'organization']], ['o', value]]);
  if (attr === 'ou') return ldifEntry(suffix, [['objectClass', ['top', 'organizationalUnit']], ['ou', value]]);
  return ldifEntry(suffix, [
    ['objectClass', ['top', 'dcObject', 'organization']],
    ['dc', value],
    ['o', value],
  ]);
}

export interface DemoOptions {
  suffix?: string;
  domain?: string;
  /** Store host of both demo users (the local stack's store). */
  mailHost?: string;
  password?: string;
  /** Password of the MMP's proxy admin (store.proxyAuth.admins). */
  proxyPassword?: string;
  /** Hash function for userPassword; each user gets its own salt. */
  hash?: (plain: string) => string;
  peopleRdn?: string;
  groupsRdn?: string;
}

export const DEMO_DEFAULTS = {
  suffix: 'o=tiermail',
  domain: 'example.test',
  mailHost: 'localhost',
  password: 'demo-password',
  proxyUid: 'mmp-proxy',
  proxyPassword: 'demo-proxy-password',
  peopleRdn: 'ou=People',
  groupsRdn: 'ou=Groups',
} as const;

/** DNs of the demo entries, for tests and scripts that want to modify them. */
export function demoDns(opts: DemoOptions = {}): { domain: string; people: string; groups: string; alice: string; bob: string; proxy: string; staff: string } {
  const suffix = opts.suffix ?? DEMO_DEFAULTS.suffix;
  const domainDn = `o=${escapeDnValue(opts.domain ?? DEMO_DEFAULTS.domain)},${suffix}`;
  const people = `${opts.peopleRdn ?? DEMO_DEFAULTS.peopleRdn},${domainDn}`;
  const groups = `${opts.groupsRdn ?? DEMO_DEFAULTS.groupsRdn},${domainDn}`;
  return {
    domain: domainDn,
    people,
    groups,
    alice: `uid=alice,${people}`,
    bob: `uid=bob,${people}`,
    proxy: `uid=${DEMO_DEFAULTS.proxyUid},${people}`,
    staff: `cn=staff,${groups}`,
  };
}

/**
 * The demo domain. alice has her own quotas and every kind of address; bob has none, so he
 * shows the domain defaults (mailQuota on the domain entry) at work.
 */
export function demoLdif(opts: DemoOptions = {}): string {
  const domain = opts.domain ?? DEMO_DEFAULTS.domain;
  const mailHost = opts.mailHost ?? DEMO_DEFAULTS.mailHost;
  const password = opts.password ?? DEMO_DEFAULTS.password;
  const hash = opts.hash ?? hashPassword;
  const dns = demoDns(opts);
  const userClasses = ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'inetUser', 'inetMailUser'];
  const rdnValue = (rdn: string): string => rdn.slice(rdn.indexOf('=') + 1);

  return ldifJoin([
    ldifEntry(dns.domain, [
      ['objectClass', ['top', 'organization', 'mailDomain']],
      ['o', domain],
      ['associatedDomain', domain],
      ['mailDomainStatus', 'active'],
      ['mailQuota', 100 * 1024 * 1024],
      ['mailMsgQuota', 10000],
    ]),
    ldifEntry(dns.people, [['objectClass', ['top', 'organizationalUnit']], ['ou', rdnValue(opts.peopleRdn ?? DEMO_DEFAULTS.peopleRdn)]]),
    ldifEntry(dns.groups, [['objectClass', ['top', 'organizationalUnit']], ['ou', rdnValue(opts.groupsRdn ?? DEMO_DEFAULTS.groupsRdn)]]),
    ldifEntry(dns.alice, [
      ['objectClass', userClasses],
      ['uid', 'alice'],
      ['cn', 'Alice Smith'],
      ['sn', 'Smith'],
      ['givenName', 'Alice'],
      ['mail', `alice@${domain}`],
      ['mailAlternateAddress', `alice.smith@${domain}`],
      ['mailEquivalentAddress', `a.smith@${domain}`],
      ['mailHost', mailHost],
      ['mailDeliveryOption', 'mailbox'],
      ['mailQuota', 1024 * 1024 * 1024],
      ['mailMsgQuota', 100000],
      ['inetUserStatus', 'active'],
      ['mailUserStatus', 'active'],
      ['userPassword', hash(password)],
    ]),
    ldifEntry(dns.bob, [
      ['objectClass', userClasses],
      ['uid', 'bob'],
      ['cn', 'Bob Jones'],
      ['sn', 'Jones'],
      ['givenName', 'Bob'],
      ['mail', `bob@${domain}`],
      ['mailHost', mailHost],
      ['mailDeliveryOption', 'mailbox'],
      ['inetUserStatus', 'active'],
      ['mailUserStatus', 'active'],
      ['userPassword', hash(password)],
    ]),
    // The MMP logs in to stores as this account on behalf of users (SASL PLAIN authzid): a
    // service identity with no mailbox, named in store.proxyAuth.admins.
    ldifEntry(dns.proxy, [
      ['objectClass', userClasses],
      ['uid', DEMO_DEFAULTS.proxyUid],
      ['cn', 'MMP proxy admin'],
      ['sn', 'proxy'],
      ['inetUserStatus', 'active'],
      ['userPassword', hash(opts.proxyPassword ?? DEMO_DEFAULTS.proxyPassword)],
    ]),
    ldifEntry(dns.staff, [
      ['objectClass', ['top', 'tiermailGroup', 'inetMailGroup']],
      ['cn', 'staff'],
      ['mail', `staff@${domain}`],
      ['mgrpRFC822MailMember', `alice@${domain}`],
      ['uniqueMember', dns.bob],
      ['inetMailGroupStatus', 'active'],
    ]),
  ]);
}
