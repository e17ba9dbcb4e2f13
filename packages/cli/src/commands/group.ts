// tiermail group add ADDRESS [--member X...] | members ADDRESS [--add X...] [--remove X...]
import type { Command } from 'commander';
import { UsageError, type CliContext } from '../context.js';
import { collect, withProvisioner } from '../directory-admin.js';

function memberList(group: Record<string, string | string[]>): string[] {
  const asList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  return [...asList(group.mgrpRFC822MailMember), ...asList(group.uniqueMember)];
}

export function registerGroup(program: Command, ctx: () => CliContext): void {
  const group = program.command('group').description('mail groups (distribution lists) in the directory');

  group
    .command('add')
    .argument('<address>', 'group address, e.g. staff@example.com')
    .option('--member <member>', 'member address or user DN (repeatable)', collect)
    .description('add a group; members by address (mgrpRFC822MailMember) or by DN (uniqueMember)')
    .action(async (address: string, opts: { member?: string[] }) => {
      const c = ctx();
      const dn = await withProvisioner(c, (p) => p.addGroup(address, opts.member ?? []));
      c.print({ dn }, () => `added group ${address} (${dn})`);
    });

  group
    .command('members')
    .argument('<address>', 'group address')
    .option('--add <member>', 'add a member address or DN (repeatable)', collect)
    .option('--remove <member>', 'remove a member address or DN (repeatable)', collect)
    .description("list a group's members, adding or removing some first")
    .action(async (address: string, opts: { add?: string[]; remove?: string[] }) => {
      const c = ctx();
      const g = await withProvisioner(c, async (p) =>
        opts.add || opts.remove ? p.editMembers(address, opts.add ?? [], opts.remove ?? []) : p.findGroup(address),
      );
      if (!g) throw new UsageError(`no such group ${address}`, 1);
      const members = memberList(g);
      c.print({ dn: g.dn, members }, () => (members.length ? members.join('\n') : '(no members)'));
    });
}
