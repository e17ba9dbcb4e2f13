// LDAP entries as typed objects. Parsing is lenient in what it accepts (an existing Sun
// directory may hold "2M" quotas or upper-case options) and strict in what it hands out:
// numbers are numbers, dates are Dates, options are lower-case, absent is null or [].
import type { Entry } from 'ldapts';

export type DeliveryOption = 'mailbox' | 'forward' | 'autoreply' | (string & {});
export type EntryStatus = 'active' | 'inactive' | 'hold' | 'overquota' | 'removed' | 'deleted' | (string & {});

export interface AutoReply {
  /** mailAutoReplyMode: reply | echo. */
  mode: string | null;
  subject: string | null;
  /** mailAutoReplyText: for senders outside the user's domain. */
  text: string | null;
  /** mailAutoReplyTextInternal: for senders in the domain; null means use text. */
  textInternal: string | null;
  /** mailAutoReplyTimeOut: hours between replies to one sender; 0 means every time. */
  timeoutHours: number | null;
  /** vacationStartDate / vacationEndDate. */
  start: Date | null;
  end: Date | null;
}

export interface DirectoryUser {
  kind: 'user';
  dn: string;
  uid: string;
  /** Canonical name of the domain the entry lives in; with uid, the store's mailbox key. */
  domain: string;
  /** cn */
  displayName: string | null;
  mail: string | null;
  alternateAddresses: string[];
  equivalentAddresses: string[];
  mailHost: string | null;
  deliveryOptions: DeliveryOption[];
  forwardingAddresses: string[];
  /** mailQuota of the entry in bytes (-1 unlimited); null when the entry has none. */
  quotaBytes: number | null;
  /** mailMsgQuota of the entry (-1 unlimited); null when the entry has none. */
  quotaMessages: number | null;
  /** The entry's quota, else the domain's default, else null (the store's default applies). */
  effectiveQuotaBytes: number | null;
  effectiveQuotaMessages: number | null;
  autoReply: AutoReply;
  inetUserStatus: EntryStatus | null;
  mailUserStatus: EntryStatus | null;
  /** mailAllowedServiceAccess rules of the entry, else the domain's. */
  allowedServiceAccess: string[];
}

export interface DirectoryGroup {
  kind: 'group';
  dn: string;
  domain: string;
  /** cn */
  name: string | null;
  mail: string;
  alternateAddresses: string[];
  equivalentAddresses: string[];
  /** mgrpRFC822MailMember: members given by address. */
  rfc822Members: string[];
  /** uniqueMember: members given by DN (users or groups); see Directory.resolveGroupMembers. */
  memberDns: string[];
  deliverTo: string[];
  allowedBroadcasters: string[];
  errorsTo: string | null;
  status: EntryStatus | null;
}

export interface DirectoryDomain {
  kind: 'domain';
  dn: string;
  /** The canonical name: the entry's RDN value when it is one of its names, else the first. */
  name: string;
  /** Every associatedDomain value, lower case: the name and its aliases. */
  names: string[];
  status: EntryStatus | null;
  diskQuotaBytes: number | null;
  messageQuota: number | null;
  /** mailQuota / mailMsgQuota on the domain: defaults for its users. */
  defaultUserQuotaBytes: number | null;
  defaultUserQuotaMessages: number | null;
  allowedServiceAccess: string[];
}

export const USER_ATTRIBUTES = [
  'objectClass', 'uid', 'cn', 'mail', 'mailAlternateAddress', 'mailEquivalentAddress', 'mailHost',
  'mailDeliveryOption', 'mailForwardingAddress', 'mailQuota', 'mailMsgQuota', 'mailAutoReplyMode',
  'mailAutoReplySubject', 'mailAutoReplyText', 'mailAutoReplyTextInternal', 'mailAutoReplyTimeOut',
  'vacationStartDate', 'vacationEndDate', 'inetUserStatus', 'mailUserStatus', 'mailAllowedServiceAccess',
];
export const GROUP_ATTRIBUTES = [
  'objectClass', 'cn', 'mail', 'mailAlternateAddress', 'mailEquivalentAddress', 'mgrpRFC822MailMember',
  'uniqueMember', 'mgrpDeliverTo', 'mgrpAllowedBroadcaster', 'mgrpErrorsTo', 'inetMailGroupStatus',
];
export const DOMAIN_ATTRIBUTES = [
  'objectClass', 'associatedDomain', 'mailDomainStatus', 'mailDomainDiskQuota', 'mailDomainMsgQuota',
  'mailQuota', 'mailMsgQuota', 'mailAllowedServiceAccess',
];

/**
 * Values of `name`, matched case-insensitively. Values with attribute options (language tags:
 * mailAutoReplyText;lang-fr) come after the plain ones, so [0] is the untagged value if any.
 */
export function values(entry: Entry, name: string): string[] {
  const wanted = name.toLowerCase();
  const plain: string[] = [];
  const tagged: string[] = [];
  for (const [key, raw] of Object.entries(entry)) {
    if (key === 'dn') continue;
    const base = key.toLowerCase().split(';')[0];
    if (base !== wanted) continue;
    const list = (Array.isArray(raw) ? raw : [raw]).map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v));
    (key.includes(';') ? tagged : plain).push(...list);
  }
  return [...plain, ...tagged];
}

function first(entry: Entry, name: string): string | null {
  const v = values(entry, name)[0];
  return v === undefined || v.trim() === '' ? null : v;
}

function lowerList(entry: Entry, name: string): string[] {
  return [...new Set(values(entry, name).map((v) => v.trim().toLowerCase()).filter((v) => v !== ''))];
}

function trimmedList(entry: Entry, name: string): string[] {
  return values(entry, name)
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

// Sun directories store quotas as strings with an optional K/M/G suffix; its documentation
// counts them in powers of ten (2M = 2000000), and so do we.
const SUFFIX: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 };

/** Integer with optional K/M/G/T suffix; -1 (or any negative) means unlimited; junk is null. */
export function parseQuota(raw: string | null): number | null {
  if (raw === null) return null;
  const m = /^\s*(-?\d+)\s*([kmgt]?)b?\s*$/i.exec(raw);
  if (!m?.[1]) return null;
  const n = Number(m[1]) * (SUFFIX[(m[2] ?? '').toLowerCase()] ?? 1);
  if (!Number.isSafeInteger(n)) return null;
  return n < 0 ? -1 : n;
}

export function parseInteger(raw: string | null): number | null {
  if (raw === null || !/^\s*-?\d+\s*$/.test(raw)) return null;
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * GeneralizedTime (RFC 4517): YYYYMMDDHH[MM[SS]][.fraction](Z|+hhmm|-hhmm). Without a zone
 * the value is taken as GMT, which is what Sun's vacation attributes are documented to be.
 */
export function parseGeneralizedTime(raw: string | null): Date | null {
  if (raw === null) return null;
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?(?:[.,](\d+))?(Z|[+-]\d{2}(?:\d{2})?)?$/.exec(raw.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi = '00', s = '00', frac, zone = 'Z'] = m;
  const ms = frac ? Math.round(Number(`0.${frac}`) * 1000) : 0;
  let t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const offset = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5) || '0');
    t -= sign * offset * 60_000;
  }
  const date = new Date(t);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function hasObjectClass(entry: Entry, objectClass: string): boolean {
  return lowerList(entry, 'objectClass').includes(objectClass.toLowerCase());
}

function rdnValue(dn: string): string | null {
  const m = /^[^=]+=((?:\\.|[^,+\\])*)/.exec(dn);
  return m?.[1] ? m[1].replace(/\\(.)/g, '$1').trim().toLowerCase() : null;
}

export function toDomain(entry: Entry): DirectoryDomain {
  const names = lowerList(entry, 'associatedDomain').map((d) => d.replace(/\.$/, ''));
  const rdn = rdnValue(entry.dn);
  return {
    kind: 'domain',
    dn: entry.dn,
    name: rdn !== null && names.includes(rdn) ? rdn : (names[0] ?? rdn ?? ''),
    names,
    status: first(entry, 'mailDomainStatus')?.toLowerCase() ?? null,
    diskQuotaBytes: parseQuota(first(entry, 'mailDomainDiskQuota')),
    messageQuota: parseInteger(first(entry, 'mailDomainMsgQuota')),
    defaultUserQuotaBytes: parseQuota(first(entry, 'mailQuota')),
    defaultUserQuotaMessages: parseInteger(first(entry, 'mailMsgQuota')),
    allowedServiceAccess: trimmedList(entry, 'mailAllowedServiceAccess'),
  };
}

export function toUser(entry: Entry, domain: DirectoryDomain): DirectoryUser {
  const quotaBytes = parseQuota(first(entry, 'mailQuota'));
  const quotaMessages = parseInteger(first(entry, 'mailMsgQuota'));
  const access = trimmedList(entry, 'mailAllowedServiceAccess');
  return {
    kind: 'user',
    dn: entry.dn,
    uid: first(entry, 'uid') ?? rdnValue(entry.dn) ?? '',
    domain: domain.name,
    displayName: first(entry, 'cn'),
    mail: first(entry, 'mail'),
    alternateAddresses: trimmedList(entry, 'mailAlternateAddress'),
    equivalentAddresses: trimmedList(entry, 'mailEquivalentAddress'),
    mailHost: first(entry, 'mailHost')?.toLowerCase() ?? null,
    deliveryOptions: lowerList(entry, 'mailDeliveryOption'),
    forwardingAddresses: trimmedList(entry, 'mailForwardingAddress'),
    quotaBytes,
    quotaMessages,
    effectiveQuotaBytes: quotaBytes ?? domain.defaultUserQuotaBytes,
    effectiveQuotaMessages: quotaMessages ?? domain.defaultUserQuotaMessages,
    autoReply: {
      mode: first(entry, 'mailAutoReplyMode')?.toLowerCase() ?? null,
      subject: first(entry, 'mailAutoReplySubject'),
      text: first(entry, 'mailAutoReplyText'),
      textInternal: first(entry, 'mailAutoReplyTextInternal'),
      timeoutHours: parseInteger(first(entry, 'mailAutoReplyTimeOut')),
      start: parseGeneralizedTime(first(entry, 'vacationStartDate')),
      end: parseGeneralizedTime(first(entry, 'vacationEndDate')),
    },
    inetUserStatus: first(entry, 'inetUserStatus')?.toLowerCase() ?? null,
    mailUserStatus: first(entry, 'mailUserStatus')?.toLowerCase() ?? null,
    allowedServiceAccess: access.length > 0 ? access : domain.allowedServiceAccess,
  };
}

export function toGroup(entry: Entry, domain: DirectoryDomain): DirectoryGroup {
  return {
    kind: 'group',
    dn: entry.dn,
    domain: domain.name,
    name: first(entry, 'cn'),
    mail: first(entry, 'mail') ?? '',
    alternateAddresses: trimmedList(entry, 'mailAlternateAddress'),
    equivalentAddresses: trimmedList(entry, 'mailEquivalentAddress'),
    rfc822Members: trimmedList(entry, 'mgrpRFC822MailMember'),
    // uniqueMember is "DN[#'bits'B]" (nameAndOptionalUID); the optional UID is not part of the DN.
    memberDns: trimmedList(entry, 'uniqueMember').map((v) => v.replace(/#'[01]*'B$/, '')),
    deliverTo: trimmedList(entry, 'mgrpDeliverTo'),
    allowedBroadcasters: trimmedList(entry, 'mgrpAllowedBroadcaster'),
    errorsTo: first(entry, 'mgrpErrorsTo'),
    status: first(entry, 'inetMailGroupStatus')?.toLowerCase() ?? null,
  };
}

/** Active unless inetUserStatus or mailUserStatus says otherwise (absent counts as active). */
export function isUserActive(user: DirectoryUser): boolean {
  return (user.inetUserStatus ?? 'active') === 'active' && (user.mailUserStatus ?? 'active') === 'active';
}
