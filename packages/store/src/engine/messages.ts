// Reading and changing stored messages: listing, flags with MODSEQ (RFC 7162), expunge.
// Every change takes the next MODSEQ of its mailbox inside one write transaction, so MODSEQs
// are strictly increasing per mailbox whichever process makes the change.
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from './errors.js';
import { fsyncPath, errnoCode } from './durable-fs.js';
import { formatFlagColumn, normalizeFlags, parseFlagColumn } from './flags.js';
import { mailboxDirPath, mailboxName, requireMailbox, type MailStore, type MailboxRow } from './mailboxes.js';
import { removeUsage } from './quota.js';
import { immediate, immediateSyncRelaxed, stmt, type Db } from './sqlite.js';
import type { FlagMode, MailboxStatus, MessageFile, MessageInfo, SetFlagsResult } from './types.js';

interface MessageRow {
  uid: number;
  file: string;
  size: number;
  internal_date: number;
  flags: string;
  modseq: number;
}

function toInfo(r: MessageRow): MessageInfo {
  return { uid: r.uid, flags: parseFlagColumn(r.flags), size: r.size, internalDate: new Date(r.internal_date), modseq: r.modseq };
}

const HAS_SEEN = "instr(' ' || flags || ' ', ' \\Seen ') > 0";
const HAS_DELETED = "instr(' ' || flags || ' ', ' \\Deleted ') > 0";

export function mailboxStatus(db: Db, rawName: string): MailboxStatus {
  const name = mailboxName(rawName);
  // One statement, so one consistent snapshot without BEGIN/COMMIT around it: IMAP asks for
  // this before every reply, and the transaction wrapper cost more than the query.
  const row = stmt(
    db,
    `SELECT b.name AS name, b.uidnext AS uidnext, b.uidvalidity AS uidvalidity, b.highestmodseq AS highestmodseq,
       count(m.uid) AS n, coalesce(sum(m.size), 0) AS bytes,
       coalesce(sum(CASE WHEN m.uid IS NULL OR ${HAS_SEEN.replace(/flags/g, 'm.flags')} THEN 0 ELSE 1 END), 0) AS unseen
     FROM mailboxes b LEFT JOIN messages m ON m.mailbox_id = b.id WHERE b.name = ? GROUP BY b.id`,
  ).get(name) as { name: string; uidnext: number; uidvalidity: number; highestmodseq: number; n: number; bytes: number; unseen: number } | undefined;
  if (!row) return requireMailbox(db, name) as never; // throws notFound with the usual text
  return {
    name: row.name,
    messages: row.n,
    unseen: row.unseen,
    uidNext: row.uidnext,
    uidValidity: row.uidvalidity,
    highestModseq: row.highestmodseq,
    sizeBytes: row.bytes,
  };
}

export function listMessages(db: Db, rawName: string, opts: { changedSinceModseq?: number } = {}): MessageInfo[] {
  const mb = requireMailbox(db, rawName);
  const rows =
    opts.changedSinceModseq === undefined
      ? (stmt(db, 'SELECT * FROM messages WHERE mailbox_id = ? ORDER BY uid').all(mb.id) as MessageRow[])
      : (stmt(db, 'SELECT * FROM messages WHERE mailbox_id = ? AND modseq > ? ORDER BY uid').all(mb.id, opts.changedSinceModseq) as MessageRow[]);
  return rows.map(toInfo);
}

/** UIDs expunged after a MODSEQ (QRESYNC's VANISHED (EARLIER)), from the tombstones. */
export function expungedSince(db: Db, rawName: string, modseq: number): number[] {
  const mb = requireMailbox(db, rawName);
  return (stmt(db, 'SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid').all(mb.id, modseq) as Array<{ uid: number }>).map((r) => r.uid);
}

/** The files of many messages at once (FETCH and SEARCH over a range): one query for the whole
 * mailbox when that is cheaper than one per message. Missing UIDs are absent from the map. */
export function messageFiles(ms: MailStore, rawName: string, uids: readonly number[]): Map<number, MessageFile> {
  const out = new Map<number, MessageFile>();
  if (uids.length <= 16) {
    for (const uid of uids) {
      try {
        out.set(uid, messageFile(ms, rawName, uid));
      } catch (err) {
        if (!(err instanceof StoreError) || !/^no message/.test(err.message)) throw err;
      }
    }
    return out;
  }
  const mb = requireMailbox(ms.db, rawName);
  const dir = mailboxDirPath(ms, mb.dir);
  const wanted = new Set(uids);
  for (const r of stmt(ms.db, 'SELECT uid, file, size FROM messages WHERE mailbox_id = ?').all(mb.id) as Array<{ uid: number; file: string; size: number }>) {
    if (wanted.has(r.uid)) out.set(r.uid, { path: join(dir, r.file), size: r.size });
  }
  return out;
}

export function messageFile(ms: MailStore, rawName: string, uid: number): MessageFile {
  const name = mailboxName(rawName);
  // One query (FETCH and SEARCH call this once per message).
  const row = stmt(ms.db, 'SELECT m.file AS file, m.size AS size, b.dir AS dir FROM mailboxes b JOIN messages m ON m.mailbox_id = b.id WHERE b.name = ? AND m.uid = ?').get(
    name,
    uid,
  ) as { file: string; size: number; dir: string } | undefined;
  if (!row) {
    requireMailbox(ms.db, name); // a missing mailbox is its own error
    throw new StoreError('notFound', `no message ${uid} in ${name}`);
  }
  return { path: join(mailboxDirPath(ms, row.dir), row.file), size: row.size };
}

/** STORE: add, remove or replace flags on the given UIDs. UIDs that do not exist are skipped;
 * with unchangedSince, messages changed after it are left alone and reported (CONDSTORE). */
export function setFlags(
  db: Db,
  rawName: string,
  uids: number[],
  mode: FlagMode,
  flags: string[],
  opts: { unchangedSince?: number } = {},
): SetFlagsResult {
  const given = normalizeFlags(flags);
  return immediateSyncRelaxed(db, () => {
    const mb = requireMailbox(db, rawName);
    let modseq = mb.highestmodseq;
    const result: SetFlagsResult = { updated: [], modified: [], before: new Map() };
    const select = stmt(db, 'SELECT * FROM messages WHERE mailbox_id = ? AND uid = ?');
    const update = stmt(db, 'UPDATE messages SET flags = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?');
    for (const uid of [...new Set(uids)].sort((a, b) => a - b)) {
      const row = select.get(mb.id, uid) as MessageRow | undefined;
      if (!row) continue;
      if (opts.unchangedSince !== undefined && row.modseq > opts.unchangedSince) {
        result.modified.push(uid);
        continue;
      }
      const current = parseFlagColumn(row.flags);
      const next =
        mode === 'replace' ? given : mode === 'add' ? [...current, ...given] : current.filter((f) => !given.includes(f));
      const column = formatFlagColumn(next);
      if (column === row.flags) continue;
      modseq++;
      result.before.set(uid, current);
      update.run(column, modseq, mb.id, uid);
      result.updated.push(toInfo({ ...row, flags: column, modseq }));
    }
    if (modseq !== mb.highestmodseq) stmt(db, 'UPDATE mailboxes SET highestmodseq = ? WHERE id = ?').run(modseq, mb.id);
    return result;
  });
}

/**
 * EXPUNGE (or UID EXPUNGE with uids): removes messages flagged \Deleted. The rows go first, in
 * one durable commit; the links are removed after. A crash in between leaves links without
 * rows, which reconstruct drops (repair) — the reverse order would leave rows pointing at
 * nothing, visible to clients.
 */
export async function expunge(
  ms: MailStore,
  rawName: string,
  uids?: number[],
  opts: { anyFlags?: boolean; /** Called when this removal ended an over-quota period. */ onUnderQuota?: () => void } = {},
): Promise<number[]> {
  const db = ms.db;
  const wanted = uids ? new Set(uids) : null;
  // anyFlags: the administrator's removal (expiry), whatever the flags say.
  const which = opts.anyFlags ? '1' : HAS_DELETED;
  const result = await immediate(db, () => {
    const mb = requireMailbox(db, rawName);
    const candidates = stmt(db, `SELECT uid, file, size FROM messages WHERE mailbox_id = ? AND ${which} ORDER BY uid`).all(mb.id) as Array<
      Pick<MessageRow, 'uid' | 'file' | 'size'>
    >;
    const gone = wanted ? candidates.filter((c) => wanted.has(c.uid)) : candidates;
    if (gone.length === 0) return { mb, gone, under: false };
    const modseq = mb.highestmodseq + 1;
    const del = stmt(db, 'DELETE FROM messages WHERE mailbox_id = ? AND uid = ?');
    const tomb = stmt(db, 'INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?)');
    let bytes = 0;
    for (const m of gone) {
      del.run(mb.id, m.uid);
      tomb.run(mb.id, m.uid, modseq);
      bytes += m.size;
    }
    stmt(db, 'UPDATE mailboxes SET highestmodseq = ? WHERE id = ?').run(modseq, mb.id);
    const under = removeUsage(db, bytes, gone.length);
    return { mb, gone, under };
  });
  const { mb, gone } = result;
  if (result.under) opts.onUnderQuota?.();
  await unlinkMessageFiles(mailboxDirPath(ms, mb.dir), gone.map((m) => m.file));
  return gone.map((m) => m.uid);
}

export async function unlinkMessageFiles(dirPath: string, files: string[]): Promise<void> {
  if (files.length === 0) return;
  await Promise.all(
    files.map(async (f) => {
      try {
        await unlink(join(dirPath, f));
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
      }
    }),
  );
  await fsyncPath(dirPath);
}

export type { MailboxRow };
