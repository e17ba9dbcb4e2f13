// `tiermail store restore`: puts backed-up mail back into the live store, which keeps running.
// Mailboxes are created when missing (special use, subscriptions and ACLs come back too);
// each message goes in through the normal delivery path with its flags and INTERNALDATE, past
// the quota (an administrator's restore must not bounce on it), and gets a new UID in the
// mailbox as it is now. A delivery id per backed-up message makes a repeated restore store
// nothing twice (within store.dedupWindowHours).
import { copyFile, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError, type MessageStore, type UserMailbox } from '../engine/index.js';
import { MAILBOX_SEPARATOR } from '../mailbox-name.js';
import { manifestSchema, userDirName, type BackupMailbox, type BackupManifest } from './format.js';

export interface RestoreOptions {
  /** <target>/<backupId>: the backup to restore (earlier backups it refers to are found beside it). */
  from: string;
  users?: string[];
  /** Only this mailbox (its name in the backup). */
  mailbox?: string;
  /** Restore under this folder ("Restored/INBOX", ...) instead of over the originals. */
  into?: string;
}

export interface RestoreReport {
  users: Array<{ user: string; mailboxes: number; restored: number; alreadyThere: number; failed: number }>;
  errors: Array<{ user: string; mailbox?: string; error: string }>;
}

async function readManifest(dir: string): Promise<BackupManifest> {
  return manifestSchema.parse(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
}

function ensureMailbox(mbx: UserMailbox, name: string, box: BackupMailbox): string {
  try {
    return mbx.status(name).name;
  } catch (err) {
    if (!(err instanceof StoreError) || err.kind !== 'notFound') throw err;
  }
  try {
    return mbx.createMailbox(name, box.specialUse ? { specialUse: box.specialUse } : {}).name;
  } catch {
    // The special use may belong to another mailbox now: create it without.
    return mbx.createMailbox(name).name;
  }
}

export async function restoreUsers(store: MessageStore, opts: RestoreOptions): Promise<RestoreReport> {
  const report: RestoreReport = { users: [], errors: [] };
  const backupsRoot = join(opts.from, '..');
  const users = opts.users ?? (await readdir(opts.from, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  for (const user of users) {
    let manifest: BackupManifest;
    try {
      manifest = await readManifest(join(opts.from, userDirName(user)));
    } catch (err) {
      report.errors.push({ user, error: `no complete backup of ${user} here (${(err as Error).message})` });
      continue;
    }
    const stats = { user: manifest.user, mailboxes: 0, restored: 0, alreadyThere: 0, failed: 0 };
    const mbx = store.openUser(manifest.user);
    try {
      const boxes = manifest.mailboxes.filter((b) => !opts.mailbox || b.name.toLowerCase() === opts.mailbox.toLowerCase());
      if (opts.mailbox && boxes.length === 0) report.errors.push({ user, mailbox: opts.mailbox, error: 'not in this backup' });
      for (const box of boxes) {
        const targetName = opts.into ? `${opts.into}${MAILBOX_SEPARATOR}${box.name}` : box.name;
        let target: string;
        try {
          target = ensureMailbox(mbx, targetName, box);
          if (box.subscribed || manifest.subscriptions.includes(box.name)) mbx.subscribe(target);
          for (const a of box.acl) mbx.setAcl(target, a.identifier, a.rights);
        } catch (err) {
          report.errors.push({ user, mailbox: box.name, error: (err as Error).message });
          continue;
        }
        stats.mailboxes++;
        for (const m of box.messages) {
          try {
            const temp = store.tempPathFor(manifest.user);
            await copyFile(join(backupsRoot, m.in, userDirName(manifest.user), m.file), temp);
            const [outcome] = await store.deliver(
              { path: temp },
              [{ user: manifest.user, ...(target === 'INBOX' ? {} : { folder: target }), deliveryId: `restore:${manifest.backupId}:${box.uidValidity}:${box.name}:${m.uid}:${targetName}` }],
              { flags: m.flags, internalDate: new Date(m.internalDate), bypassQuota: true },
            );
            if (outcome?.status === 'stored') stats.restored++;
            else if (outcome?.status === 'duplicate') stats.alreadyThere++;
            else {
              stats.failed++;
              report.errors.push({ user, mailbox: box.name, error: `uid ${m.uid}: ${outcome?.status ?? 'no outcome'}` });
            }
          } catch (err) {
            stats.failed++;
            report.errors.push({ user, mailbox: box.name, error: `uid ${m.uid}: ${(err as Error).message}` });
          }
        }
      }
      // ACL entries came back: the share index must list them again.
      if (manifest.mailboxes.some((b) => b.acl.length > 0)) store.syncShares(manifest.user);
    } finally {
      mbx.close();
    }
    report.users.push(stats);
  }
  return report;
}
