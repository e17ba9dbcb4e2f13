// `tiermail store backup`: copies users' mail out of the live store. Each user is read from
// one snapshot (a read transaction), so the backup is consistent per user while deliveries go
// on; a body expunged between the snapshot and its copy is left out (it was gone anyway).
// Incremental backups copy only bodies the previous backup of that user does not hold.
import { constants } from 'node:fs';
import { copyFile, mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MessageStore } from '../engine/index.js';
import { BACKUP_FORMAT, mailboxKey, newBackupId, stateSchema, userDirName, type BackupManifest, type BackupState } from './format.js';

export interface BackupOptions {
  target: string;
  users?: string[];
  partition?: string;
  incremental?: boolean;
  now?: Date;
}

export interface BackupReport {
  backupId: string;
  users: Array<{ user: string; mailboxes: number; messages: number; copied: number; bytesCopied: number; vanished: number }>;
  errors: Array<{ user: string; error: string }>;
}

async function writeDurable(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, text);
  const fh = await open(tmp, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

async function readState(target: string, user: string): Promise<BackupState | null> {
  try {
    return stateSchema.parse(JSON.parse(await readFile(join(target, 'state', `${userDirName(user)}.json`), 'utf8')));
  } catch {
    return null;
  }
}

export async function backupUsers(store: MessageStore, opts: BackupOptions): Promise<BackupReport> {
  const now = opts.now ?? new Date();
  const kind = opts.incremental ? 'incremental' : 'full';
  const backupId = newBackupId(now, kind);
  const report: BackupReport = { backupId, users: [], errors: [] };
  await mkdir(join(opts.target, 'state'), { recursive: true });
  for (const user of opts.users ?? store.users(opts.partition)) {
    try {
      report.users.push(await backupUser(store, user, backupId, kind, opts.target));
    } catch (err) {
      report.errors.push({ user, error: (err as Error).message });
    }
  }
  return report;
}

async function backupUser(store: MessageStore, user: string, backupId: string, kind: 'full' | 'incremental', target: string) {
  const mbx = store.openUser(user, { create: false });
  let snap;
  try {
    snap = mbx.snapshot();
  } finally {
    mbx.close();
  }
  const previous = kind === 'incremental' ? await readState(target, snap.user) : null;
  const userDir = join(target, backupId, userDirName(snap.user));
  await mkdir(join(userDir, 'm'), { recursive: true });
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    user: snap.user,
    backupId,
    kind,
    takenAt: snap.takenAt.toISOString(),
    subscriptions: snap.subscriptions,
    mailboxes: [],
  };
  const state: BackupState = { format: BACKUP_FORMAT, backupId, bodies: {} };
  const stats = { user: snap.user, mailboxes: 0, messages: 0, copied: 0, bytesCopied: 0, vanished: 0 };
  let n = 0;
  for (const box of snap.mailboxes) {
    const key = mailboxKey(box.name, box.uidValidity);
    const known = previous?.bodies[key] ?? {};
    const bodies: BackupState['bodies'][string] = {};
    const messages: BackupManifest['mailboxes'][number]['messages'] = [];
    for (const m of box.messages) {
      let where = known[String(m.uid)];
      if (!where) {
        const file = `m/${++n}.eml`;
        try {
          // A copy-on-write clone where the file system can, a plain copy elsewhere.
          await copyFile(m.path, join(userDir, file), constants.COPYFILE_FICLONE);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
            stats.vanished++; // expunged since the snapshot
            continue;
          }
          throw err;
        }
        where = { in: backupId, file };
        stats.copied++;
        stats.bytesCopied += m.size;
      }
      bodies[String(m.uid)] = where;
      messages.push({ uid: m.uid, flags: m.flags, internalDate: m.internalDate.toISOString(), size: m.size, in: where.in, file: where.file });
    }
    state.bodies[key] = bodies;
    manifest.mailboxes.push({ name: box.name, uidValidity: box.uidValidity, specialUse: box.specialUse, subscribed: box.subscribed, acl: box.acl, messages });
    stats.mailboxes++;
    stats.messages += messages.length;
  }
  // The manifest last: a user directory without one is an interrupted backup.
  await writeDurable(join(userDir, 'manifest.json'), `${JSON.stringify(manifest)}\n`);
  await writeDurable(join(target, 'state', `${userDirName(snap.user)}.json`), `${JSON.stringify(state)}\n`);
  return stats;
}
