// tiermail store mailbox list|create|rename|delete, quota show|report|check, reconstruct, gc, expire, stat.
// These run on a store host and open the local partitions directly (the engine is safe to use
// beside the running store processes).
import type { Command } from 'commander';
import { MessageStore, type UserMailbox } from '@tiermail/store';
import { expireUsers } from '@tiermail/store/expire/run';
import { badPattern } from '@tiermail/store/expire/select';
import { UsageError, type CliContext } from '../context.js';
import { registerStoreBackup } from './store-backup.js';

function withStore<T>(c: CliContext, fn: (s: MessageStore) => Promise<T> | T): Promise<T> {
  const s = MessageStore.open(c.load().config.store);
  return Promise.resolve()
    .then(() => fn(s))
    .finally(() => s.close());
}

/** A user's mailboxes; an unknown user is an error unless `create` (first mailbox of a new user). */
function withUser<T>(c: CliContext, user: string, fn: (m: UserMailbox, s: MessageStore) => Promise<T> | T, create = false): Promise<T> {
  const canonical = canonicalUser(c, user);
  return withStore(c, async (s) => {
    if (!create && !s.hasUser(canonical)) throw new UsageError(`no mailboxes for ${canonical} on this store`, 1);
    const m = s.openUser(canonical, { create });
    try {
      return await fn(m, s);
    } finally {
      m.close();
    }
  });
}

/** uid@domain in lower case; a bare uid is in the default domain, as on LMTP. */
function canonicalUser(c: CliContext, user: string): string {
  const at = user.lastIndexOf('@');
  const domain = at < 0 ? c.load().config.directory.defaultDomain : user.slice(at + 1);
  return `${(at < 0 ? user : user.slice(0, at)).toLowerCase()}@${domain.toLowerCase()}`;
}

const mb = (n: number): string => (n < 0 ? 'unlimited' : `${(n / 1024 / 1024).toFixed(1)} MB`);

export function registerStore(program: Command, ctx: () => CliContext): void {
  const store = program.command('store').description('message store administration (run on the store host)');
  const mailbox = store.command('mailbox').description("a user's mailboxes");

  mailbox
    .command('list')
    .argument('<user>', 'uid@domain, or uid in the default domain')
    .description('mailboxes with message counts and sizes')
    .action(async (user: string) => {
      const c = ctx();
      const rows = await withUser(c, user, (m) =>
        m.listMailboxes().map((b) => {
          const st = m.status(b.name);
          return { name: b.name, messages: st.messages, unseen: st.unseen, bytes: st.sizeBytes, uidValidity: b.uidValidity, uidNext: b.uidNext, subscribed: b.subscribed };
        }),
      );
      c.print(rows, () => rows.map((r) => `${r.name}\t${r.messages} messages\t${r.unseen} unseen\t${r.bytes} bytes`).join('\n'));
    });

  mailbox
    .command('create')
    .argument('<user>')
    .argument('<name>', 'mailbox name, hierarchy separator /')
    .action(async (user: string, name: string) => {
      const c = ctx();
      const info = await withUser(c, user, (m) => m.createMailbox(name), true);
      c.print(info, () => `created ${info.name} (UIDVALIDITY ${info.uidValidity})`);
    });

  mailbox
    .command('rename')
    .argument('<user>')
    .argument('<from>')
    .argument('<to>')
    .action(async (user: string, from: string, to: string) => {
      const c = ctx();
      await withUser(c, user, (m) => m.renameMailbox(from, to));
      c.print({ from, to }, () => `renamed ${from} to ${to}`);
    });

  mailbox
    .command('delete')
    .argument('<user>')
    .argument('<name>')
    .description('delete a mailbox and its messages')
    .action(async (user: string, name: string) => {
      const c = ctx();
      await withUser(c, user, (m) => m.deleteMailbox(name));
      c.print({ deleted: name }, () => `deleted ${name}`);
    });

  const quota = store.command('quota').description('quota use');
  quota
    .command('show')
    .argument('<user>')
    .action(async (user: string) => {
      const c = ctx();
      const q = await withUser(c, user, (m) => m.quota());
      c.print(q, () =>
        [
          `used: ${mb(q.usedBytes)}, ${q.usedMessages} messages`,
          `limit: ${mb(q.limitBytes)}, ${q.limitMessages < 0 ? 'unlimited' : q.limitMessages} messages`,
          q.overQuotaSince ? `over quota since ${new Date(q.overQuotaSince).toISOString()}` : 'not over quota',
        ].join('\n'),
      );
    });

  quota
    .command('report')
    .option('--over <percent>', 'list users at or above this share of a limit (bytes or messages)', '90')
    .description("users of this store near or over their quota, fullest first (limits as the relay last gave them)")
    .action(async (opts: { over: string }) => {
      const c = ctx();
      const threshold = Number(opts.over);
      if (!Number.isFinite(threshold) || threshold < 0) throw new UsageError(`--over ${opts.over}: expected a percentage`);
      const rows = await withStore(c, async (s) => {
        const out: Array<{ user: string; percent: number; usedBytes: number; limitBytes: number; usedMessages: number; limitMessages: number; overQuotaSince: number | null }> = [];
        for (const u of s.users()) {
          const m = s.openUser(u);
          try {
            const q = m.quota();
            const pct = (used: number, limit: number): number => (limit > 0 ? (used * 100) / limit : 0);
            const percent = Math.max(pct(q.usedBytes, q.limitBytes), pct(q.usedMessages, q.limitMessages));
            if (percent >= threshold) out.push({ user: u, percent: Math.round(percent * 10) / 10, ...q });
          } finally {
            m.close();
          }
        }
        return out.sort((a, b) => b.percent - a.percent);
      });
      c.print(rows, () =>
        [
          ...rows.map((r) => `${r.user.padEnd(32)} ${String(r.percent).padStart(6)}%  ${mb(r.usedBytes)} of ${mb(r.limitBytes)}, ${r.usedMessages} of ${r.limitMessages < 0 ? 'unlimited' : r.limitMessages} messages${r.overQuotaSince ? '  OVER (mail refused)' : ''}`),
          `${rows.length} user(s) at or above ${threshold}%`,
        ].join('\n'),
      );
    });

  quota
    .command('check')
    .argument('[user]', 'one user; default every user of this store')
    .description('check recorded quota use (and the rest of each database) against the messages')
    .action(async (user?: string) => {
      const c = ctx();
      const reports = await withStore(c, async (s) => {
        const users = user ? [canonicalUser(c, user)] : s.users();
        const out = [];
        for (const u of users) out.push(await s.checkIntegrity(u));
        return out;
      });
      const bad = reports.filter((r) => !r.ok);
      c.print(reports, () =>
        [
          ...bad.map((r) => `${r.user}: ${r.problems.join('; ')} (fix: tiermail store reconstruct ${r.user})`),
          `${reports.length} users checked, ${bad.length} with problems`,
        ].join('\n'),
      );
      if (bad.length > 0) process.exitCode = 1;
    });

  store
    .command('reconstruct')
    .argument('<user>')
    .option('--rebuild', 'rebuild the database from the message files even if it looks sound')
    .description("repair a user's database against the message files, or rebuild it from them")
    .action(async (user: string, opts: { rebuild?: boolean }) => {
      const c = ctx();
      const r = await withStore(c, (s) => s.reconstruct(canonicalUser(c, user), { rebuild: opts.rebuild === true }));
      c.print(r, () => `${r.user}: ${r.mode}, ${r.mailboxes} mailboxes, ${r.messages} messages, ${r.missingFiles} rows without file dropped, ${r.orphans} orphan files`);
    });

  store
    .command('gc')
    .option('--partition <name>', 'only this partition')
    .description('remove message bodies no mailbox links any more, and stale spool files')
    .action(async (opts: { partition?: string }) => {
      const c = ctx();
      const reports = await withStore(c, (s) => s.gc(opts.partition ? { partition: opts.partition } : {}));
      c.print(reports, () => reports.map((r) => `${r.partition}: ${r.objectsRemoved} bodies and ${r.tempFilesRemoved} spool files removed`).join('\n'));
    });

  store
    .command('expire [users...]')
    .option('--dry-run', 'list what the rules would remove, remove nothing')
    .description('apply store.expire.rules to every user (or the users named)')
    .action(async (users: string[], opts: { dryRun?: boolean }) => {
      const c = ctx();
      const rules = c.load().config.store.expire.rules;
      const bad = badPattern(rules);
      if (bad) throw new UsageError(bad, 1);
      if (rules.length === 0) throw new UsageError('no expiry rules: add some under store.expire.rules', 1);
      const report = await withStore(c, (s) => expireUsers(s, rules, { dryRun: opts.dryRun ?? false, ...(users.length ? { users } : {}) }));
      c.print(report, () =>
        [
          ...report.removed.map((m) => `${opts.dryRun ? 'would remove' : 'removed'}\t${m.user}\t${m.mailbox}\tuid ${m.uid}\t${m.size} bytes\trule ${m.rule}`),
          `${report.removed.length} message(s) ${opts.dryRun ? 'would be removed' : 'removed'} from ${report.mailboxes} mailbox(es) of ${report.users} user(s)`,
          ...report.errors.map((e) => `error: ${e.user}${e.mailbox ? ` ${e.mailbox}` : ''}: ${e.error}`),
        ].join('\n'),
      );
      if (report.errors.length > 0) process.exitCode = 1;
    });

  store
    .command('stat')
    .description('users, messages and bytes per partition')
    .action(async () => {
      const c = ctx();
      const stats = await withStore(c, (s) => s.stat());
      c.print(stats, () =>
        stats.map((p) => `${p.partition}\t${p.path}\t${p.users} users\t${p.messages} messages\t${p.bytes} bytes\tdisk ${p.diskUsedPercent.toFixed(1)}% used`).join('\n'),
      );
    });
  registerStoreBackup(store, ctx);
}

