// tiermail domain add DOMAIN | list
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { withProvisioner } from '../directory-admin.js';

export function registerDomain(program: Command, ctx: () => CliContext): void {
  const domain = program.command('domain').description('hosted domains in the directory');

  domain
    .command('add')
    .argument('<domain>', 'domain name, e.g. example.com')
    .option('--quota <size>', 'default mailbox quota for its users (500M, 2G, -1 unlimited)')
    .option('--status <status>', 'active or inactive', 'active')
    .description('add a domain with its People and Groups containers')
    .action(async (name: string, opts: { quota?: string; status: 'active' | 'inactive' }) => {
      const c = ctx();
      const dn = await withProvisioner(c, (p) =>
        p.addDomain({ domain: name, status: opts.status, ...(opts.quota !== undefined ? { quota: opts.quota } : {}) }),
      );
      c.print({ dn }, () => `added domain ${name.toLowerCase()} (${dn})`);
    });

  domain
    .command('list')
    .description('list hosted domains')
    .action(async () => {
      const c = ctx();
      const list = await withProvisioner(c, (p) => p.listDomains());
      c.print(list, () =>
        list.length === 0
          ? 'no domains'
          : list.map((d) => `${String(d.associatedDomain)}\t${String(d.mailDomainStatus ?? 'active')}`).join('\n'),
      );
    });
}
