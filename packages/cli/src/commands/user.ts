// tiermail user add | show | set | delete | passwd | move
import type { Command } from 'commander';
import { createLogger, parseAttributeEdits } from '@tiermail/core';
import { moveUser } from './user-move.js';
import { UsageError, type CliContext } from '../context.js';
import { collect, readPassword, renderEntry, withProvisioner } from '../directory-admin.js';

interface AddOptions {
  password?: string;
  passwordStdin?: boolean;
  uid?: string;
  cn?: string;
  mailhost?: string;
  quota?: string;
  msgQuota?: string;
  alternate?: string[];
}

/** Without --mailhost, a deployment with exactly one store host puts users there. */
function defaultMailHost(c: CliContext): string {
  const stores = Object.entries(c.load().config.hosts).filter(([, h]) => h.roles.includes('store'));
  if (stores.length === 1 && stores[0]) return stores[0][0];
  throw new UsageError(`--mailhost is needed: the config has ${stores.length} store hosts (${stores.map(([n]) => n).join(', ') || 'none'})`);
}

export function registerUser(program: Command, ctx: () => CliContext): void {
  const user = program.command('user').description('mail users in the directory');

  user
    .command('add')
    .argument('<address>', 'primary address, e.g. alice@example.com')
    .option('--password-stdin', 'read the password from the first line of standard input')
    .option('--password <password>', 'the password (visible to other local users; prefer --password-stdin)')
    .option('--uid <uid>', 'user id (default: the local part)')
    .option('--cn <name>', 'full name')
    .option('--mailhost <host>', "the user's store host (default: the only store host of the config)")
    .option('--quota <size>', 'mailbox quota: 500M, 2G, -1 unlimited')
    .option('--msg-quota <n>', 'message count quota')
    .option('--alternate <address>', 'alternate address (repeatable)', collect)
    .description('add a user with a salted password hash')
    .action(async (address: string, opts: AddOptions) => {
      const c = ctx();
      const password = await readPassword(opts);
      const dn = await withProvisioner(c, (p) =>
        p.addUser({
          address,
          password,
          mailHost: opts.mailhost ?? defaultMailHost(c),
          ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
          ...(opts.cn !== undefined ? { cn: opts.cn } : {}),
          ...(opts.quota !== undefined ? { quota: opts.quota } : {}),
          ...(opts.msgQuota !== undefined ? { msgQuota: Number(opts.msgQuota) } : {}),
          ...(opts.alternate ? { alternates: opts.alternate } : {}),
        }),
      );
      c.print({ dn }, () => `added user ${address} (${dn})`);
    });

  user
    .command('show')
    .argument('<user>', 'address, alternate address or uid')
    .description("show a user's directory entry (never the password hash)")
    .action(async (who: string) => {
      const c = ctx();
      const entry = await withProvisioner(c, (p) => p.findUser(who));
      if (!entry) throw new UsageError(`no such user ${who}`, 1);
      c.print(entry, () => renderEntry(entry));
    });

  user
    .command('set')
    .argument('<user>', 'address, alternate address or uid')
    .argument('<changes...>', 'attr=value[,value] replaces, +attr=value adds, -attr=value removes, attr= clears')
    .description('change attributes, e.g. mailQuota=2G mailDeliveryOption=mailbox,forward mailForwardingAddress=x@y')
    .action(async (who: string, changes: string[]) => {
      const c = ctx();
      const edits = parseAttributeEdits(changes);
      const entry = await withProvisioner(c, (p) => p.setUser(who, edits));
      c.print(entry, () => renderEntry(entry));
    });

  user
    .command('delete')
    .argument('<user>', 'address, alternate address or uid')
    .description('remove the user from the directory (mailboxes stay on the store)')
    .action(async (who: string) => {
      const c = ctx();
      const dn = await withProvisioner(c, (p) => p.deleteUser(who));
      c.print({ dn }, () => `deleted ${dn}`);
    });

  user
    .command('passwd')
    .argument('<user>', 'address, alternate address or uid')
    .option('--password-stdin', 'read the new password from the first line of standard input')
    .option('--password <password>', 'the new password (prefer --password-stdin)')
    .description("set a user's password")
    .action(async (who: string, opts: { password?: string; passwordStdin?: boolean }) => {
      const c = ctx();
      const password = await readPassword(opts);
      await withProvisioner(c, (p) => p.setPassword(who, password));
      c.print({ ok: true }, () => `password of ${who} changed`);
    });

  user
    .command('move')
    .argument('<user>', 'address or uid')
    .requiredOption('--to <store>', 'the store host to move to (a host of the config with the store role)')
    .description("move a user's mail to another store while they keep working (IMAP to both stores as mmp.proxyAdmin)")
    .action(async (who: string, opts: { to: string }) => {
      const c = ctx();
      const config = c.load().config;
      const quiet = c.opts.json === true;
      const report = await moveUser(config, who, opts.to, createLogger({ service: 'cli', level: 'warn' }), (line) => {
        if (!quiet) process.stderr.write(`${line}\n`);
      });
      c.print(report, () => `${report.user}: ${report.messages} messages in ${report.mailboxes} mailboxes moved from ${report.from} to ${report.to} in ${(report.ms / 1000).toFixed(1)} s`);
    });
}
