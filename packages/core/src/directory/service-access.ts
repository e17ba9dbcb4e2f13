// mailAllowedServiceAccess: which services (imap, pop3, smtp, http) a user may use from which
// clients. Each value holds rules separated by "$", each rule "+services:clients" (allow) or
// "-services:clients" (deny); services and clients are comma lists, "*" or "ALL" match all.
// Clients are addresses, CIDR networks or dotted prefixes such as "10.1.". The seeds' rule:
// a matching deny wins; otherwise a matching allow admits; with no allow rule at all, the
// absence of a matching deny admits (so "-pop3:*" alone only takes POP3 away).
import { NetworkList } from '../network-list.js';

interface Rule {
  allow: boolean;
  services: string[];
  clients: string[];
}

export class ServiceAccessError extends Error {}

function parseRules(values: readonly string[]): Rule[] {
  const rules: Rule[] = [];
  for (const value of values) {
    for (const text of value.split('$')) {
      const t = text.trim();
      if (t === '') continue;
      const m = /^([+-])([^:]+):(.+)$/.exec(t);
      if (!m) throw new ServiceAccessError(`mailAllowedServiceAccess rule ${JSON.stringify(t)}: expected +services:clients or -services:clients`);
      rules.push({
        allow: m[1] === '+',
        services: m[2]!.split(',').map((s) => s.trim().toLowerCase()),
        clients: m[3]!.split(',').map((c) => c.trim()),
      });
    }
  }
  return rules;
}

function clientMatches(pattern: string, address: string): boolean {
  if (pattern === '*' || pattern.toUpperCase() === 'ALL') return true;
  const plain = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  if (pattern.endsWith('.')) return plain.startsWith(pattern);
  try {
    return new NetworkList([pattern]).has(address);
  } catch {
    return false; // a host name or junk: never matches an address
  }
}

function ruleMatches(rule: Rule, service: string, address: string): boolean {
  const svc = rule.services.some((s) => s === '*' || s === 'all' || s === service);
  return svc && rule.clients.some((c) => clientMatches(c, address));
}

/** True when the rules admit `service` (lower case: imap, pop3, smtp, http) from `address`.
 * Throws ServiceAccessError for a malformed rule (callers refuse: fail closed). */
export function serviceAccessAllows(values: readonly string[], service: string, address: string): boolean {
  const rules = parseRules(values);
  if (rules.length === 0) return true;
  const svc = service.toLowerCase();
  if (rules.some((r) => !r.allow && ruleMatches(r, svc, address))) return false;
  if (rules.some((r) => r.allow && ruleMatches(r, svc, address))) return true;
  return !rules.some((r) => r.allow);
}
