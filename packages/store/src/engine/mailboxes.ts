// Mailbox rows and their directories. A mailbox directory is named by a random id and holds a
// sidecar (.mailbox.json: name, UIDVALIDITY) that reconstruct reads when the database is lost.
// Order of steps: create writes the directory and sidecar before the row commits (a rolled
// back create leaves an empty directory without a row, which cleanup removes); delete removes
// the sidecar first, so a mailbox half-deleted by a crash is never resurrected by reconstruct.
import { mkdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { INBOX, MAILBOX_SEPARATOR, MailboxNameError, isInbox, mailboxAncestors, normalizeMailboxName } from '../mailbox-name.js';
import { StoreError } from './errors.js';
import { fsyncPathSync, mkdirDurableSync, writeFileDurableSync } from './durable-fs.js';
import { MAILBOX_SIDECAR, newMailboxDirName } from './layout.js';
import { removeUsage } from './quota.js';
import { stmt, type Db } from './sqlite.js';
import type { MailboxInfo } from './types.js';

export interface MailboxRow {
  id: number;
  name: string;
  dir: string;
  uidvalidity: number;
  uidnext: number;
  highestmodseq: number;
  special_use: string | null;
  created: number;
}

/** What mailbox operations need of a user: the database and the mail directory. */
export interface MailStore {
  db: Db;
  mailDir: string;
}

export function mailboxDirPath(ms: MailStore, dir: string): string {
  return join(ms.mailDir, dir);
}

export interface MailboxSidecar {
  name: string;
  uidValidity: number;
  created: number;
}

const SPECIAL_USE = new Set(['\\All', '\\Archive', '\\Drafts', '\\Flagged', '\\Junk', '\\Sent', '\\Trash']);

export function mailboxName(name: string): string {
  try {
    return normalizeMailboxName(name);
  } catch (err) {
    if (err instanceof MailboxNameError) throw new StoreError('invalidName', err.message, { cause: err });
    throw err;
  }
}

export function findMailbox(db: Db, name: string): MailboxRow | undefined {
  return stmt(db, 'SELECT * FROM mailboxes WHERE name = ?').get(name) as MailboxRow | undefined;
}

export function requireMailbox(db: Db, rawName: string): MailboxRow {
  const name = mailboxName(rawName);
  const row = findMailbox(db, name);
  if (!row) throw new StoreError('notFound', `no mailbox ${name}`);
  return row;
}

export function allMailboxes(db: Db): MailboxRow[] {
  return stmt(db, 'SELECT * FROM mailboxes ORDER BY name').all() as MailboxRow[];
}

export function toMailboxInfo(db: Db, row: MailboxRow): MailboxInfo {
  const subscribed = stmt(db, 'SELECT 1 FROM subscriptions WHERE name = ?').get(row.name) !== undefined;
  return {
    name: row.name,
    uidValidity: row.uidvalidity,
    uidNext: row.uidnext,
    highestModseq: row.highestmodseq,
    specialUse: row.special_use,
    subscribed,
  };
}

/** A UIDVALIDITY never used before by this user: the time in seconds, or one more than the
 * last one handed out, whichever is larger (mailboxes created in the same second differ). */
export function nextUidValidity(db: Db, nowMs: number, atLeast = 0): number {
  const row = stmt(db, "SELECT value FROM meta WHERE key = 'last_uidvalidity'").get() as { value: string } | undefined;
  const last = row ? Number(row.value) : 0;
  const value = Math.min(0xffffffff, Math.max(Math.floor(nowMs / 1000), last + 1, atLeast));
  stmt(db, "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_uidvalidity', ?)").run(String(value));
  return value;
}

export function writeSidecar(ms: MailStore, row: Pick<MailboxRow, 'dir' | 'name' | 'uidvalidity' | 'created'>): void {
  const sidecar: MailboxSidecar = { name: row.name, uidValidity: row.uidvalidity, created: row.created };
  writeFileDurableSync(join(mailboxDirPath(ms, row.dir), MAILBOX_SIDECAR), JSON.stringify(sidecar) + '\n');
}

export function readSidecar(ms: MailStore, dir: string): MailboxSidecar | null {
  try {
    const parsed = JSON.parse(readFileSync(join(mailboxDirPath(ms, dir), MAILBOX_SIDECAR), 'utf8')) as Partial<MailboxSidecar>;
    if (typeof parsed.name !== 'string' || typeof parsed.uidValidity !== 'number') return null;
    return { name: parsed.name, uidValidity: parsed.uidValidity, created: typeof parsed.created === 'number' ? parsed.created : 0 };
  } catch {
    return null;
  }
}

/** Creates one mailbox (no ancestors). Call inside a write transaction. */
export function insertMailbox(ms: MailStore, name: string, nowMs: number, specialUse: string | null = null): MailboxRow {
  const dir = newMailboxDirName();
  mkdirDurableSync(ms.mailDir);
  mkdirSync(mailboxDirPath(ms, dir));
  fsyncPathSync(ms.mailDir);
  const uidvalidity = nextUidValidity(ms.db, nowMs);
  const row: MailboxRow = { id: 0, name, dir, uidvalidity, uidnext: 1, highestmodseq: 1, special_use: specialUse, created: nowMs };
  writeSidecar(ms, row);
  const info = stmt(
    ms.db,
    'INSERT INTO mailboxes (name, dir, uidvalidity, uidnext, highestmodseq, special_use, created) VALUES (?, ?, ?, 1, 1, ?, ?)',
  ).run(name, dir, uidvalidity, specialUse, nowMs);
  return { ...row, id: Number(info.lastInsertRowid) };
}

/** INBOX exists for every user; called inside write transactions that need it. */
export function ensureInbox(ms: MailStore, nowMs: number): MailboxRow {
  return findMailbox(ms.db, INBOX) ?? subscribeAnd(ms.db, insertMailbox(ms, INBOX, nowMs));
}

function subscribeAnd(db: Db, row: MailboxRow): MailboxRow {
  stmt(db, 'INSERT OR IGNORE INTO subscriptions (name) VALUES (?)').run(row.name);
  return row;
}

/** CREATE: the mailbox and any missing superiors (RFC 3501 6.3.3). Inside a write transaction. */
export function createMailboxTx(ms: MailStore, rawName: string, nowMs: number, specialUse?: string): MailboxRow {
  const name = mailboxName(rawName);
  if (specialUse !== undefined && !SPECIAL_USE.has(specialUse)) throw new StoreError('notAllowed', `unknown special use ${specialUse}`);
  if (findMailbox(ms.db, name)) throw new StoreError('exists', `mailbox ${name} exists`);
  for (const ancestor of mailboxAncestors(name)) {
    if (!findMailbox(ms.db, ancestor)) insertMailbox(ms, ancestor, nowMs);
  }
  return insertMailbox(ms, name, nowMs, specialUse ?? null);
}

function children(db: Db, name: string): MailboxRow[] {
  const prefix = name + MAILBOX_SEPARATOR;
  return (stmt(db, 'SELECT * FROM mailboxes WHERE substr(name, 1, ?) = ? ORDER BY name').all(prefix.length, prefix) as MailboxRow[]);
}

/** RENAME (RFC 3501 6.3.5): inferiors move too; renaming INBOX moves its messages to the new
 * name and leaves an empty INBOX (its children stay). Inside a write transaction. */
export function renameMailboxTx(ms: MailStore, rawFrom: string, rawTo: string, nowMs: number): void {
  const db = ms.db;
  const from = requireMailbox(db, rawFrom);
  const to = mailboxName(rawTo);
  if (findMailbox(db, to)) throw new StoreError('exists', `mailbox ${to} exists`);
  if (isInbox(to)) throw new StoreError('notAllowed', 'cannot rename to INBOX');
  if (to.startsWith(from.name + MAILBOX_SEPARATOR)) throw new StoreError('notAllowed', 'cannot rename a mailbox below itself');
  const moving = from.name === INBOX ? [from] : [from, ...children(db, from.name)];
  for (const ancestor of mailboxAncestors(to)) {
    if (!findMailbox(db, ancestor)) insertMailbox(ms, ancestor, nowMs);
  }
  for (const row of moving) {
    const newName = to + row.name.slice(from.name.length);
    if (findMailbox(db, newName)) throw new StoreError('exists', `mailbox ${newName} exists`);
    // Sidecar first: if the commit then fails, integrity check reports the mismatch and
    // reconstruct rewrites sidecars from the database.
    writeSidecar(ms, { ...row, name: newName });
    stmt(db, 'UPDATE mailboxes SET name = ? WHERE id = ?').run(newName, row.id);
    stmt(db, 'UPDATE subscriptions SET name = ? WHERE name = ?').run(newName, row.name);
  }
  if (from.name === INBOX) ensureInbox(ms, nowMs);
}

/** DELETE (RFC 3501 6.3.4). A mailbox with inferiors is refused (no \Noselect placeholders).
 * Returns the directory to remove once the transaction has committed. */
export function deleteMailboxTx(ms: MailStore, rawName: string): string {
  const db = ms.db;
  const row = requireMailbox(db, rawName);
  if (row.name === INBOX) throw new StoreError('notAllowed', 'INBOX cannot be deleted');
  if (children(db, row.name).length > 0) throw new StoreError('hasChildren', `mailbox ${row.name} has inferior mailboxes`);
  const usage = stmt(db, 'SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM messages WHERE mailbox_id = ?').get(row.id) as {
    n: number;
    bytes: number;
  };
  const dirPath = mailboxDirPath(ms, row.dir);
  try {
    unlinkSync(join(dirPath, MAILBOX_SIDECAR));
    fsyncPathSync(dirPath);
  } catch {
    /* already gone: the row is what counts */
  }
  stmt(db, 'DELETE FROM mailboxes WHERE id = ?').run(row.id);
  // Delivery ids stay: a late relay retry must still be recognised, even for a deleted mailbox.
  stmt(db, 'UPDATE deliveries SET mailbox_id = NULL, uid = NULL WHERE mailbox_id = ?').run(row.id);
  removeUsage(db, usage.bytes, usage.n);
  return dirPath;
}

export function removeMailboxDir(dirPath: string): void {
  rmSync(dirPath, { recursive: true, force: true });
}
