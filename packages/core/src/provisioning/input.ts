// Admin input for provisioning, validated with zod before anything is written to LDAP.
// Operators edit users with the directory's own attribute names (`mailQuota=2G`,
// `+mailAlternateAddress=a@b`), so nothing new has to be learnt; each attribute's values are
// checked here so a typo never lands in the directory.
import { z } from 'zod';

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/;

export const domainName = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.string().regex(DOMAIN, 'expected a domain name such as example.com'));

export const mailAddress = z
  .string()
  .transform((s) => s.trim())
  .pipe(
    z
      .string()
      .max(320, 'expected an address of at most 320 characters')
      .regex(/^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9.-]{1,253}$/, 'expected an address such as user@example.com'),
  )
  .transform((s) => {
    const at = s.lastIndexOf('@');
    return `${s.slice(0, at)}@${s.slice(at + 1).toLowerCase()}`;
  });

export const uidValue = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected a user id of letters, digits, dot, underscore or hyphen (at most 64)');

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** "100M", "2G", "1048576", or -1 for unlimited. */
export const byteSize = z
  .union([z.number(), z.string()])
  .transform((v, ctx) => {
    const text = String(v).trim().toUpperCase();
    if (text === '-1' || text === 'UNLIMITED') return -1;
    const m = /^(\d+)\s*([KMGT]?)B?$/.exec(text);
    if (!m) {
      ctx.addIssue({ code: 'custom', message: 'expected a size such as 500M, 2G, a number of bytes, or -1 for unlimited' });
      return z.NEVER;
    }
    return Number(m[1]) * (UNITS[m[2] ?? ''] ?? 1);
  });

const count = z
  .union([z.number(), z.string()])
  .transform((v, ctx) => {
    const n = Number(String(v).trim());
    if (!Number.isInteger(n) || n < -1) {
      ctx.addIssue({ code: 'custom', message: 'expected a whole number, or -1 for unlimited' });
      return z.NEVER;
    }
    return n;
  });

const generalizedTime = z
  .string()
  .transform((s, ctx) => {
    if (/^\d{14}Z$/.test(s)) return s;
    const d = new Date(s);
    if (Number.isNaN(d.getTime())) {
      ctx.addIssue({ code: 'custom', message: 'expected a date such as 2026-12-24 or 20261224000000Z' });
      return z.NEVER;
    }
    return d.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
  });

const status = z.enum(['active', 'inactive', 'deleted', 'removed', 'hold', 'overquota']);

/** Attributes an operator may set on a user, with the check each value must pass. */
export const userAttributes = {
  cn: z.string().min(1).max(256),
  sn: z.string().min(1).max(256),
  mail: mailAddress,
  mailAlternateAddress: mailAddress,
  mailEquivalentAddress: mailAddress,
  mailHost: z.string().regex(/^[A-Za-z0-9.-]+$/, 'expected a store host or group name'),
  mailDeliveryOption: z.enum(['mailbox', 'forward', 'autoreply', 'program', 'native', 'file', 'hold']),
  mailForwardingAddress: mailAddress,
  mailQuota: byteSize.transform(String),
  mailMsgQuota: count.transform(String),
  mailAutoReplyMode: z.enum(['reply', 'echo']),
  mailAutoReplySubject: z.string().max(998),
  mailAutoReplyText: z.string().max(65536),
  mailAutoReplyTextInternal: z.string().max(65536),
  mailAutoReplyTimeOut: count.transform(String),
  vacationStartDate: generalizedTime,
  vacationEndDate: generalizedTime,
  inetUserStatus: status,
  mailUserStatus: status,
  mailAllowedServiceAccess: z.string().regex(/^[+-]?[a-z0-9,*]+:[^\s]+$/i, 'expected a rule such as +imap,pop3:ALL or -smtp:*'),
} as const;

export type UserAttribute = keyof typeof userAttributes;

export interface AttributeEdit {
  attribute: UserAttribute;
  /** replace: attr=v (empty value clears it); add: +attr=v; delete: -attr=v. */
  operation: 'replace' | 'add' | 'delete';
  values: string[];
}

export class ProvisioningError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProvisioningError';
  }
}

function firstIssue(err: z.ZodError): string {
  return err.issues[0]?.message ?? 'invalid value';
}

export function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new ProvisioningError(`${what} ${JSON.stringify(value)}: ${firstIssue(r.error)}`);
  return r.data;
}

/** Parse `attr=v1,v2`, `+attr=v`, `-attr=v`, `attr=` into checked edits. */
export function parseAttributeEdits(args: string[]): AttributeEdit[] {
  const known = Object.keys(userAttributes);
  return args.map((arg) => {
    const m = /^([+-]?)([A-Za-z]+)=(.*)$/s.exec(arg);
    if (!m) throw new ProvisioningError(`expected attr=value, +attr=value or -attr=value, got ${JSON.stringify(arg)}`);
    const [, sign, name = '', raw = ''] = m;
    const attribute = known.find((k) => k.toLowerCase() === name.toLowerCase()) as UserAttribute | undefined;
    if (!attribute) throw new ProvisioningError(`unknown attribute ${name}; settable: ${known.join(', ')}`);
    const operation = sign === '+' ? 'add' : sign === '-' ? 'delete' : 'replace';
    // Free text may hold commas; lists of addresses or options are comma-separated.
    const freeText = ['cn', 'sn', 'mailAutoReplySubject', 'mailAutoReplyText', 'mailAutoReplyTextInternal'].includes(attribute);
    const parts = raw === '' ? [] : freeText ? [raw] : raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (operation !== 'replace' && parts.length === 0) throw new ProvisioningError(`${arg}: a value is needed to ${operation}`);
    const schema = userAttributes[attribute] as z.ZodType<string>;
    const values = parts.map((p) => parseWith(schema, p, attribute));
    return { attribute, operation, values };
  });
}
