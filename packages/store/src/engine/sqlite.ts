// better-sqlite3 set up for several processes sharing one file: WAL so readers never wait for
// the writer, synchronous=FULL so a commit is on disk when it returns, a busy timeout for the
// short write transactions, and an async retry around it so a long wait never turns into an
// error while the lock holder is merely slow.
import Database from 'better-sqlite3';
import { setTimeout as sleep } from 'node:timers/promises';
import { isSqliteBusy } from './errors.js';

export type Db = Database.Database;
export type Statement = Database.Statement;

/** How long one statement waits for the write lock (blocking: keep it short). */
const BUSY_TIMEOUT_MS = 2000;
const BUSY_RETRIES = 10;

export function openSqlite(path: string, opts: { readonly?: boolean; mustExist?: boolean } = {}): Db {
  const db = new Database(path, {
    timeout: BUSY_TIMEOUT_MS,
    readonly: opts.readonly ?? false,
    fileMustExist: opts.mustExist ?? false,
  });
  try {
    if (!opts.readonly) retryBusySync(() => db.pragma('journal_mode = WAL'));
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function retryBusySync<T>(fn: () => T): T {
  for (let attempt = 0; ; attempt++) {
    try {
      return fn();
    } catch (err) {
      if (!isSqliteBusy(err) || attempt >= BUSY_RETRIES) throw err;
    }
  }
}

const statementCache = new WeakMap<Db, Map<string, Statement>>();

/** Prepared statements, one per SQL text and connection. */
export function stmt(db: Db, sql: string): Statement {
  let cache = statementCache.get(db);
  if (!cache) statementCache.set(db, (cache = new Map()));
  let s = cache.get(sql);
  if (!s) cache.set(sql, (s = db.prepare(sql)));
  return s;
}

/** BEGIN IMMEDIATE ... COMMIT, synchronously (waits up to the busy timeout). */
export function immediateSync<T>(db: Db, fn: () => T): T {
  return db.transaction(fn).immediate();
}

/**
 * BEGIN IMMEDIATE ... COMMIT with synchronous=NORMAL for this one transaction: in WAL mode the
 * commit is atomic and consistent but not fsynced; it reaches the disk with the next durable
 * commit or checkpoint. For flag changes only (as Dovecot's mail_fsync=optimized): a power
 * loss may take back the last few flag changes, never a message, and an fsync per STORE would
 * stall every session of the process while it runs.
 */
export function immediateSyncRelaxed<T>(db: Db, fn: () => T): T {
  stmt(db, 'PRAGMA synchronous = NORMAL').run();
  try {
    return db.transaction(fn).immediate();
  } finally {
    stmt(db, 'PRAGMA synchronous = FULL').run();
  }
}

/** BEGIN IMMEDIATE ... COMMIT, retried asynchronously while another process holds the lock. */
export async function immediate<T>(db: Db, fn: () => T): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return db.transaction(fn).immediate();
    } catch (err) {
      if (!isSqliteBusy(err) || attempt >= BUSY_RETRIES) throw err;
    }
    await sleep(5 + Math.random() * 20 * (attempt + 1));
  }
}

/**
 * BEGIN IMMEDIATE ... COMMIT, retried as immediate() does, whose commit appends to the WAL
 * without the fsync inside (synchronous=NORMAL for this one transaction; the connection stays
 * FULL for everything else). It is NOT durable when this returns: the caller must fsync the WAL
 * file afterwards (UserDb.writeDurable does) before it relies on the commit. Together that is
 * exactly synchronous=FULL's guarantee in WAL mode (the commit's frames are on disk before
 * anyone is told), but the fsync runs in the threadpool instead of blocking the event loop, and
 * with it every other session of the process, for its whole length.
 */
export async function immediateUnsynced<T>(db: Db, fn: () => T): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      stmt(db, 'PRAGMA synchronous = NORMAL').run();
      try {
        return db.transaction(fn).immediate();
      } finally {
        stmt(db, 'PRAGMA synchronous = FULL').run();
      }
    } catch (err) {
      if (!isSqliteBusy(err) || attempt >= BUSY_RETRIES) throw err;
    }
    await sleep(5 + Math.random() * 20 * (attempt + 1));
  }
}

/** Whether the connection is in WAL mode (false on file systems where WAL cannot be used). */
export function isWal(db: Db): boolean {
  return String(db.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal';
}
