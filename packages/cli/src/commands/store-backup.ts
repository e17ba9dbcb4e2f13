// tiermail store backup | restore (docs/runbooks/backup.md). They run on the store host,
// beside the running store, and never stop it.
import type { Command } from 'commander';
import { MessageStore } from '@tiermail/store';
import { backupUsers } from '@tiermail/store/backup/backup';
import { restoreUsers } from '@tiermail/store/backup/restore';
import { UsageError, type CliContext } from '../context.js';

export function registerStoreBackup(store: Command, ctx: () => CliContext): void {
  store
    .command('backup [users...]')
    .requiredOption('--to <dir>', 'backup directory (each run adds <dir>/<backup id>/)')
    .option('--incremental', 'copy only bodies the previous backup of each user does not hold')
    .option('--partition <name>', 'every user of this partition')
    .description('back up users (all, a partition, or those named) while the store runs')
    .action(async (users: string[], o: { to: string; incremental?: boolean; partition?: string }) => {
      const c = ctx();
      const s = MessageStore.open(c.load().config.store);
      try {
        const r = await backupUsers(s, {
          target: o.to,
          incremental: o.incremental ?? false,
          ...(users.length ? { users } : {}),
          ...(o.partition ? { partition: o.partition } : {}),
        });
        c.print(r, () =>
          [
            `backup ${r.backupId} in ${o.to}`,
            ...r.users.map((u) => `  ${u.user}: ${u.mailboxes} mailboxes, ${u.messages} messages, ${u.copied} copied (${u.bytesCopied} bytes)${u.vanished ? `, ${u.vanished} expunged meanwhile` : ''}`),
            ...r.errors.map((e) => `  error: ${e.user}: ${e.error}`),
          ].join('\n'),
        );
        if (r.errors.length) process.exitCode = 1;
      } finally {
        s.close();
      }
    });

  store
    .command('restore')
    .requiredOption('--from <dir>', 'one backup: <backup dir>/<backup id>')
    .option('--user <user...>', 'only these users')
    .option('--mailbox <name>', 'only this mailbox')
    .option('--into <folder>', 'restore under this folder instead of over the originals')
    .description('put backed-up mail back into the live store (flags and dates kept, new UIDs)')
    .action(async (o: { from: string; user?: string[]; mailbox?: string; into?: string }) => {
      const c = ctx();
      if (o.into !== undefined && o.into.trim() === '') throw new UsageError('--into needs a folder name');
      const s = MessageStore.open(c.load().config.store);
      try {
        const r = await restoreUsers(s, {
          from: o.from,
          ...(o.user ? { users: o.user } : {}),
          ...(o.mailbox ? { mailbox: o.mailbox } : {}),
          ...(o.into ? { into: o.into } : {}),
        });
        c.print(r, () =>
          [
            ...r.users.map((u) => `${u.user}: ${u.restored} restored, ${u.alreadyThere} already there, ${u.failed} failed, in ${u.mailboxes} mailboxes`),
            ...r.errors.map((e) => `error: ${e.user}${e.mailbox ? ` ${e.mailbox}` : ''}: ${e.error}`),
          ].join('\n'),
        );
        if (r.errors.length) process.exitCode = 1;
      } finally {
        s.close();
      }
    });
}
