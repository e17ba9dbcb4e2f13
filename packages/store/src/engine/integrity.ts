// Integrity check of one user: SQLite's own check, then the database against the files. It
// only reads, in one read transaction (a consistent snapshot), so it can run while the user
// receives mail; a delivery committing meanwhile shows up at most as an orphan warning.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { INBOX } from '../mailbox-name.js';
import { allMailboxes, mailboxDirPath, readSidecar, type MailStore } from './mailboxes.js';
import { readQuota } from './quota.js';
import { messageFilesIn } from './reconstruct.js';
import { stmt } from './sqlite.js';
import { listMailboxDirs } from './user-db.js';

export interface IntegrityFindings {
  problems: string[];
  warnings: string[];
}

export function checkUserIntegrity(ms: MailStore): IntegrityFindings {
  const db = ms.db;
  const problems: string[] = [];
  const warnings: string[] = [];
  const sqliteCheck = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
  for (const r of sqliteCheck) if (r.integrity_check !== 'ok') problems.push(`sqlite: ${r.integrity_check}`);
  const fk = db.pragma('foreign_key_check') as unknown[];
  if (fk.length > 0) problems.push(`sqlite: ${fk.length} foreign key violations`);
  if (problems.length > 0) return { problems, warnings };

  db.transaction(() => {
    const mailboxes = allMailboxes(db);
    if (!mailboxes.some((m) => m.name === INBOX)) problems.push('no INBOX');
    let bytes = 0;
    let count = 0;
    for (const mb of mailboxes) {
      const where = `mailbox ${mb.name}`;
      const dirPath = mailboxDirPath(ms, mb.dir);
      if (!existsSync(dirPath)) {
        problems.push(`${where}: directory ${mb.dir} missing`);
        continue;
      }
      const sidecar = readSidecar(ms, mb.dir);
      if (!sidecar) problems.push(`${where}: sidecar missing`);
      else if (sidecar.name !== mb.name || sidecar.uidValidity !== mb.uidvalidity) problems.push(`${where}: sidecar says ${sidecar.name} ${sidecar.uidValidity}`);
      const files = messageFilesIn(dirPath);
      const rows = stmt(db, 'SELECT uid, file, size, modseq FROM messages WHERE mailbox_id = ? ORDER BY uid').all(mb.id) as Array<{
        uid: number;
        file: string;
        size: number;
        modseq: number;
      }>;
      const withRow = new Set<string>();
      for (const row of rows) {
        count++;
        bytes += row.size;
        if (row.uid >= mb.uidnext) problems.push(`${where}: UID ${row.uid} not below UIDNEXT ${mb.uidnext}`);
        if (row.modseq > mb.highestmodseq) problems.push(`${where}: UID ${row.uid} MODSEQ above HIGHESTMODSEQ`);
        const meta = files.get(row.file);
        if (!meta) {
          problems.push(`${where}: UID ${row.uid} file ${row.file} missing`);
          continue;
        }
        withRow.add(row.file);
        if (meta.uid !== row.uid) problems.push(`${where}: UID ${row.uid} points at file of UID ${meta.uid}`);
        const size = statSync(join(dirPath, row.file)).size;
        if (size !== row.size) problems.push(`${where}: UID ${row.uid} size ${row.size} but file has ${size}`);
      }
      for (const [file, meta] of files) {
        if (withRow.has(file)) continue;
        const above = meta.uid >= mb.uidnext ? ', at or above UIDNEXT' : '';
        warnings.push(`${where}: orphan file ${file} (unacknowledged delivery or interrupted expunge${above})`);
      }
    }
    const known = new Set(mailboxes.map((m) => m.dir));
    for (const dir of listMailboxDirs(ms.mailDir)) if (!known.has(dir)) warnings.push(`directory ${dir} belongs to no mailbox`);
    const q = readQuota(db);
    if (q.used_bytes !== bytes || q.used_messages !== count) {
      problems.push(`quota use ${q.used_bytes} bytes/${q.used_messages} messages but messages add up to ${bytes}/${count}`);
    }
  }).deferred();
  return { problems, warnings };
}
