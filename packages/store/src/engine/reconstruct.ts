// Rebuilding a user's metadata from the message files, and repairing it against them.
//
// rebuild (database missing, corrupt, or forced): every mailbox directory with a sidecar
// becomes a mailbox again, every message file a message, with the UID, internal date, flags at
// delivery and delivery-id hash its name carries. UIDs and their order are kept, but flag
// changes since delivery and expunged UIDs are not known, so each mailbox gets a UIDVALIDITY
// above the one in its sidecar (RFC 3501: clients must drop their caches). Delivery ids come
// back from the file names, so a relay retry of a message that is on disk, acknowledged or
// not, is answered 'duplicate': nothing is ever stored twice. Directories without a sidecar
// are mailboxes whose deletion was interrupted; they are removed, not resurrected.
//
// repair (database sound): rows whose file is gone are dropped, files without a row are
// removed once older than the orphan grace period. Such a file is a link whose commit never
// happened (crash between link and commit) or whose expunge was interrupted: in both cases no
// client was told it exists, and an unacknowledged delivery is retried by the relay, so
// removing it keeps exactly-once. Young orphans are left alone: they may be deliveries in
// flight in another process.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MAILBOX_SEPARATOR, mailboxAncestors, normalizeMailboxName } from '../mailbox-name.js';
import { fsyncPathSync } from './durable-fs.js';
import { formatFlagColumn } from './flags.js';
import { parseMessageFileName, type MessageFileName } from './layout.js';
import {
  allMailboxes,
  ensureInbox,
  findMailbox,
  insertMailbox,
  mailboxDirPath,
  nextUidValidity,
  readSidecar,
  writeSidecar,
  type MailStore,
  type MailboxRow,
} from './mailboxes.js';
import { immediateSync, stmt, type Db } from './sqlite.js';
import { listMailboxDirs } from './user-db.js';

export interface RebuildStats {
  mailboxes: number;
  messages: number;
  missingFiles: number;
  orphans: number;
}

/** How long a link without a row may be a delivery still in flight. */
export const DEFAULT_ORPHAN_GRACE_MS = 15 * 60_000;

export function messageFilesIn(dirPath: string): Map<string, MessageFileName> {
  const out = new Map<string, MessageFileName>();
  for (const name of readdirSync(dirPath)) {
    const parsed = parseMessageFileName(name);
    if (parsed) out.set(name, parsed);
  }
  return out;
}

function recomputeUsage(db: Db): void {
  const s = stmt(db, 'SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM messages').get() as { n: number; bytes: number };
  stmt(db, 'UPDATE quota SET used_bytes = ?, used_messages = ? WHERE id = 1').run(s.bytes, s.n);
}

function ensureAncestors(ms: MailStore, nowMs: number): void {
  for (const row of allMailboxes(ms.db)) {
    for (const ancestor of mailboxAncestors(row.name)) if (!findMailbox(ms.db, ancestor)) insertMailbox(ms, ancestor, nowMs);
  }
}

export function rebuildFromFiles(ms: MailStore, nowMs: number, opts: { keepState: boolean }): RebuildStats {
  const db = ms.db;
  return immediateSync(db, () => {
    const stats: RebuildStats = { mailboxes: 0, messages: 0, missingFiles: 0, orphans: 0 };
    // What files cannot tell (ACLs, special use) is carried over by name when the old
    // database could still be read; subscriptions are by name and stay as they are.
    const acl = opts.keepState
      ? (db.prepare('SELECT m.name AS name, a.identifier AS identifier, a.rights AS rights FROM acl a JOIN mailboxes m ON m.id = a.mailbox_id').all() as Array<{
          name: string;
          identifier: string;
          rights: string;
        }>)
      : [];
    const specialUse = opts.keepState
      ? (db.prepare('SELECT name, special_use FROM mailboxes WHERE special_use IS NOT NULL').all() as Array<{ name: string; special_use: string }>)
      : [];
    for (const table of ['messages', 'expunged', 'acl', 'deliveries', 'mailboxes']) db.exec(`DELETE FROM ${table}`);

    const found = listMailboxDirs(ms.mailDir)
      .map((dir) => ({ dir, sidecar: readSidecar(ms, dir) }))
      .sort((a, b) => (a.sidecar?.created ?? 0) - (b.sidecar?.created ?? 0));
    const insertMessage = stmt(db, 'INSERT INTO messages (mailbox_id, uid, file, size, internal_date, flags, modseq) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const insertDelivery = stmt(db, 'INSERT OR IGNORE INTO deliveries (id, at, mailbox_id, uid) VALUES (?, ?, ?, ?)');
    for (const { dir, sidecar } of found) {
      const dirPath = mailboxDirPath(ms, dir);
      if (!sidecar) {
        stats.orphans += messageFilesIn(dirPath).size;
        rmSync(dirPath, { recursive: true, force: true });
        continue;
      }
      let name: string;
      try {
        name = normalizeMailboxName(sidecar.name);
      } catch {
        name = `recovered${MAILBOX_SEPARATOR}${dir}`;
      }
      if (findMailbox(db, name)) name = `${name}-${dir}`;
      const uidvalidity = nextUidValidity(db, nowMs, sidecar.uidValidity + 1);
      const info = stmt(
        db,
        'INSERT INTO mailboxes (name, dir, uidvalidity, uidnext, highestmodseq, special_use, created) VALUES (?, ?, ?, 1, 1, NULL, ?)',
      ).run(name, dir, uidvalidity, sidecar.created || nowMs);
      const mailboxId = Number(info.lastInsertRowid);
      const files = [...messageFilesIn(dirPath)].sort((a, b) => a[1].uid - b[1].uid);
      let modseq = 1;
      let maxUid = 0;
      for (const [file, meta] of files) {
        if (meta.uid === maxUid) continue; // same UID twice cannot be written by the engine; keep the first
        const size = statSync(join(dirPath, file)).size;
        insertMessage.run(mailboxId, meta.uid, file, size, meta.internalDateMs, formatFlagColumn(meta.flags), ++modseq);
        if (meta.dedupKey) insertDelivery.run(meta.dedupKey, nowMs, mailboxId, meta.uid);
        maxUid = meta.uid;
        stats.messages++;
      }
      stmt(db, 'UPDATE mailboxes SET uidnext = ?, highestmodseq = ? WHERE id = ?').run(maxUid + 1, modseq, mailboxId);
      writeSidecar(ms, { dir, name, uidvalidity, created: sidecar.created || nowMs });
      stats.mailboxes++;
    }
    ensureAncestors(ms, nowMs);
    ensureInbox(ms, nowMs);
    if (!opts.keepState) db.exec('INSERT OR IGNORE INTO subscriptions (name) SELECT name FROM mailboxes');
    for (const s of specialUse) stmt(db, 'UPDATE mailboxes SET special_use = ? WHERE name = ?').run(s.special_use, s.name);
    for (const a of acl) {
      const mb = findMailbox(db, a.name);
      if (mb) stmt(db, 'INSERT OR REPLACE INTO acl (mailbox_id, identifier, rights) VALUES (?, ?, ?)').run(mb.id, a.identifier, a.rights);
    }
    recomputeUsage(db);
    stmt(db, 'UPDATE quota SET over_since = NULL WHERE id = 1').run();
    return stats;
  });
}

function olderThan(path: string, graceMs: number): boolean {
  const s = statSync(path);
  // link() and unlink() update ctime: a recent ctime means a delivery may be linking now.
  return Date.now() - Math.max(s.ctimeMs, s.mtimeMs) > graceMs;
}

export function repairAgainstFiles(ms: MailStore, nowMs: number, orphanGraceMs: number): RebuildStats {
  const db = ms.db;
  const removeLater: string[] = [];
  const stats = immediateSync(db, () => {
    const stats: RebuildStats = { mailboxes: 0, messages: 0, missingFiles: 0, orphans: 0 };
    const known = new Set<string>();
    for (const mb of allMailboxes(db)) {
      stats.mailboxes++;
      known.add(mb.dir);
      repairMailbox(ms, mb, orphanGraceMs, stats, removeLater);
    }
    for (const dir of listMailboxDirs(ms.mailDir)) {
      const dirPath = mailboxDirPath(ms, dir);
      if (known.has(dir) || !olderThan(dirPath, orphanGraceMs)) continue;
      stats.orphans += messageFilesIn(dirPath).size;
      removeLater.push(dirPath);
    }
    ensureInbox(ms, nowMs);
    recomputeUsage(db);
    return stats;
  });
  // Files go after the commit: if it had failed they would still be needed.
  for (const path of removeLater) rmSync(path, { recursive: true, force: true });
  if (removeLater.length > 0 && existsSync(ms.mailDir)) fsyncPathSync(ms.mailDir);
  return stats;
}

function repairMailbox(ms: MailStore, mb: MailboxRow, orphanGraceMs: number, stats: RebuildStats, removeLater: string[]): void {
  const db = ms.db;
  const dirPath = mailboxDirPath(ms, mb.dir);
  if (!existsSync(dirPath)) {
    mkdirSync(dirPath, { recursive: true });
    fsyncPathSync(ms.mailDir);
  }
  const sidecar = readSidecar(ms, mb.dir);
  if (!sidecar || sidecar.name !== mb.name || sidecar.uidValidity !== mb.uidvalidity) writeSidecar(ms, mb);
  const files = messageFilesIn(dirPath);
  const rows = stmt(db, 'SELECT uid, file, size, modseq FROM messages WHERE mailbox_id = ?').all(mb.id) as Array<{
    uid: number;
    file: string;
    size: number;
    modseq: number;
  }>;
  let modseq = mb.highestmodseq;
  let maxUid = 0;
  const withRow = new Set<string>();
  for (const row of rows) {
    maxUid = Math.max(maxUid, row.uid);
    modseq = Math.max(modseq, row.modseq);
    if (files.has(row.file)) {
      withRow.add(row.file);
      const size = statSync(join(dirPath, row.file)).size;
      if (size !== row.size) stmt(db, 'UPDATE messages SET size = ? WHERE mailbox_id = ? AND uid = ?').run(size, mb.id, row.uid);
      stats.messages++;
      continue;
    }
    stats.missingFiles++;
    stmt(db, 'DELETE FROM messages WHERE mailbox_id = ? AND uid = ?').run(mb.id, row.uid);
    stmt(db, 'INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?)').run(mb.id, row.uid, ++modseq);
  }
  for (const [file, meta] of files) {
    if (withRow.has(file)) continue;
    maxUid = Math.max(maxUid, meta.uid); // never hand this UID out again, even once removed
    if (olderThan(join(dirPath, file), orphanGraceMs)) {
      stats.orphans++;
      removeLater.push(join(dirPath, file));
    }
  }
  stmt(db, 'UPDATE mailboxes SET uidnext = max(uidnext, ?), highestmodseq = ? WHERE id = ?').run(maxUid + 1, modseq, mb.id);
}
