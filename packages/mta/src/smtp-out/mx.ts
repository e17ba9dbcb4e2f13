// Where mail for a remote domain goes (RFC 5321 section 5): a static route for the domain, else
// the smarthost, else its MX records in preference order (equal preferences shuffled), else
// the domain's own address when it has no MX. A null MX (RFC 7505) and a domain that does not
// exist fail for good; a DNS server that does not answer is a temporary failure.
import { isIP } from 'node:net';
import { Resolver } from 'node:dns/promises';
import type { Answer } from '../delivery/apply.js';

export interface MxHost {
  /** The address to connect to. */
  address: string;
  port: number;
  /** The MX (or route) name: for SNI, certificate checks and mail.log. */
  name: string;
}

export type MxResult = { kind: 'hosts'; hosts: MxHost[] } | { kind: 'fail'; answer: Answer };

export interface MxOptions {
  /** DNS servers "ip" or "ip:port"; empty = the system's. */
  servers: readonly string[];
  timeoutMs: number;
  /** Port of MX hosts. */
  port: number;
  maxHosts: number;
  smarthost: readonly string[];
  routes: Readonly<Record<string, readonly string[]>>;
}

/** Parses "host", "host:port", "[v6]" or "[v6]:port". */
export function parseHostPort(spec: string, defaultPort: number): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(spec) ?? /^([^:]+)(?::(\d+))?$/.exec(spec);
  if (!m) return { host: spec, port: defaultPort };
  return { host: m[1]!, port: m[2] ? Number(m[2]) : defaultPort };
}

const PERMANENT_DNS = new Set(['ENOTFOUND']);
const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND']);

function code(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
}

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

export class MxResolver {
  private readonly resolver: Resolver;

  constructor(private readonly opts: MxOptions) {
    this.resolver = new Resolver({ timeout: opts.timeoutMs, tries: 2 });
    if (opts.servers.length > 0) this.resolver.setServers([...opts.servers]);
  }

  /** Every address of a name (A and AAAA); an IP literal is its own address. */
  async addresses(name: string): Promise<{ addresses: string[]; error?: string }> {
    if (isIP(name)) return { addresses: [name] };
    const [v4, v6] = await Promise.allSettled([this.resolver.resolve4(name), this.resolver.resolve6(name)]);
    const addresses = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
    if (addresses.length > 0) return { addresses };
    const errs = [v4, v6].filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => code(r.reason));
    return { addresses, error: errs.find((e) => !NO_RECORDS.has(e)) ?? errs[0] ?? 'ENODATA' };
  }

  private async expand(specs: readonly { name: string; port: number }[], domain: string): Promise<MxResult> {
    const hosts: MxHost[] = [];
    let lastError: string | undefined;
    for (const s of specs) {
      if (hosts.length >= this.opts.maxHosts) break;
      const a = await this.addresses(s.name);
      if (a.error) lastError = a.error;
      for (const address of a.addresses) if (hosts.length < this.opts.maxHosts) hosts.push({ address, port: s.port, name: s.name });
    }
    if (hosts.length > 0) return { kind: 'hosts', hosts };
    return {
      kind: 'fail',
      answer: { code: 451, text: `451 4.4.4 no address found for the mail hosts of ${domain} (${lastError ?? 'no records'})` },
    };
  }

  async resolve(domain: string): Promise<MxResult> {
    const configured = this.opts.routes[domain.toLowerCase()] ?? (this.opts.smarthost.length > 0 ? this.opts.smarthost : undefined);
    if (configured) {
      return this.expand(
        configured.map((spec) => {
          const { host, port } = parseHostPort(spec, this.opts.port);
          return { name: host, port };
        }),
        domain,
      );
    }
    let mx: Array<{ exchange: string; priority: number }>;
    try {
      mx = await this.resolver.resolveMx(domain);
    } catch (err) {
      const c = code(err);
      if (PERMANENT_DNS.has(c)) return { kind: 'fail', answer: { code: 550, text: `550 5.1.2 domain ${domain} does not exist (DNS ${c})` } };
      if (c !== 'ENODATA') return { kind: 'fail', answer: { code: 451, text: `451 4.4.3 DNS lookup of ${domain} MX failed (${c})` } };
      mx = [];
    }
    if (mx.some((m) => m.exchange === '' || m.exchange === '.')) {
      return { kind: 'fail', answer: { code: 556, text: `556 5.1.10 ${domain} accepts no mail (null MX)` } };
    }
    if (mx.length === 0) return this.expand([{ name: domain, port: this.opts.port }], domain); // RFC 5321 5.1: implicit MX
    const byPreference = new Map<number, string[]>();
    for (const m of mx) byPreference.set(m.priority, [...(byPreference.get(m.priority) ?? []), m.exchange]);
    const ordered = [...byPreference.keys()].sort((a, b) => a - b).flatMap((p) => shuffle(byPreference.get(p)!));
    return this.expand(
      ordered.map((name) => ({ name, port: this.opts.port })),
      domain,
    );
  }
}
