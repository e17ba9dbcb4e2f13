// One user's database handle and directories. Opening creates what is missing; a database
// file that was replaced or deleted under a running process is noticed (inode check) so no
// commit ever lands in a file nobody will read again.
import { existsSync, openSync, closeSync, readdirSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { StoreError } from './errors.js';
import { fsyncPathSync, mkdirDurableSync, errnoCode } from './durable-fs.js';
import { MAIL_DIR, USER_DB_FILE, isMailboxDirName } from './layout.js';
import { SCHEMA_VERSION, USER_SCHEMA } from './schema.js';
import { immediate, immediateSync, immediateUnsynced, isWal, openSqlite, stmt, type Db } from './sqlite.js';

export class StaleDatabaseError extends Error {
  constructor() {
    super('user database was replaced while open');
    this.name = 'StaleDatabaseError';
  }
}

export class UserDb {
  readonly dbPath: string;
  readonly mailDir: string;
  /** WAL mode: commits can be made durable by an fsync of the -wal file (writeDurable). */
  private readonly wal: boolean;
  /** The -wal file, opened on first need and kept while the database is open. */
  private walFile: Promise<FileHandle> | undefined;
  private constructor(
    readonly user: string,
    readonly partition: string,
    readonly partitionPath: string,
    readonly dir: string,
    readonly db: Db,
    private readonly ino: number,
    /** True when this open created the database file. */
    readonly created: boolean,
    /** True when it was created over existing mail and rebuilt from the files. */
    readonly rebuiltOnOpen: boolean,
  ) {
    this.dbPath = join(dir, USER_DB_FILE);
    this.mailDir = join(dir, MAIL_DIR);
    this.wal = isWal(db);
  }

  static open(args: {
    user: string;
    partition: string;
    partitionPath: string;
    dir: string;
    create: boolean;
    /** Fills a new database from the mail directory (reconstruct), inside the create lock. */
    rebuild?: RebuildFn;
  }): UserDb {
    const dbPath = join(args.dir, USER_DB_FILE);
    let created = false;
    let rebuilt = false;
    if (!existsSync(dbPath)) {
      // Without create, only a user whose mail is on disk (database lost) is opened, and rebuilt.
      if (!args.create && !existsSync(join(args.dir, MAIL_DIR))) throw new StoreError('notFound', `no mailbox for ${args.user}`);
      mkdirDurableSync(join(args.dir, MAIL_DIR));
      // Creation happens under a lock so that removing a stale -wal can never hit the live
      // WAL of a database another process has just created.
      created = withCreateLock(args.dir, () => {
        if (existsSync(dbPath)) return false;
        // A -wal left by a deleted database would be replayed into the new one: drop it.
        for (const suffix of ['-wal', '-shm']) rmSync(dbPath + suffix, { force: true });
        // Built under another name and renamed into place complete, so no process ever opens
        // a database that is still empty while its mail is being recovered.
        const initPath = `${dbPath}.init-${process.pid}-${randomBytes(4).toString('hex')}`;
        const fresh = openSqlite(initPath);
        try {
          initSchema(fresh, args.user);
          const mailDir = join(args.dir, MAIL_DIR);
          if (args.rebuild && listMailboxDirs(mailDir).length > 0) {
            rebuilt = true;
            args.rebuild({ db: fresh, mailDir });
          }
          fresh.close();
        } catch (err) {
          fresh.close();
          for (const suffix of ['', '-wal', '-shm']) rmSync(initPath + suffix, { force: true });
          throw err;
        }
        renameSync(initPath, dbPath);
        fsyncPathSync(args.dir);
        return true;
      });
    }
    const db = openSqlite(dbPath);
    try {
      if (!created && readVersion(db) !== SCHEMA_VERSION) initSchema(db, args.user);
      const ino = statSync(dbPath).ino;
      return new UserDb(args.user, args.partition, args.partitionPath, args.dir, db, ino, created, rebuilt);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** Whether the file at dbPath is still the one this handle has open. */
  isCurrent(): boolean {
    try {
      return statSync(this.dbPath).ino === this.ino;
    } catch {
      return false;
    }
  }

  /** Called inside write transactions, under the lock: refuse to commit into a dead file. */
  assertCurrent(): void {
    if (!this.isCurrent()) throw new StaleDatabaseError();
  }

  /**
   * A write transaction (BEGIN IMMEDIATE, retried while another process holds the lock) that
   * is durable when the promise resolves, as with synchronous=FULL: the commit appends to the
   * WAL without syncing, then the WAL file is fsynced in the threadpool. The event loop (every
   * other LMTP session of this worker) goes on meanwhile, and concurrent deliveries' fsyncs
   * overlap instead of queueing behind one another. An fsync failure rejects, as a failed
   * commit would. Not in WAL mode: an ordinary synchronous=FULL transaction.
   */
  async writeDurable<T>(fn: () => T): Promise<T> {
    if (!this.wal) return immediate(this.db, fn);
    const result = await immediateUnsynced(this.db, fn);
    await this.syncWal();
    return result;
  }

  /** fsync of the -wal file: every frame committed so far (by any process) is on disk after. */
  private async syncWal(): Promise<void> {
    // The -wal file exists from the first commit on, and is not removed while this connection
    // is open (SQLite deletes it only when the last connection to the database closes).
    this.walFile ??= open(`${this.dbPath}-wal`, 'r');
    let fh: FileHandle;
    try {
      fh = await this.walFile;
    } catch (err) {
      this.walFile = undefined;
      throw err;
    }
    await fh.sync();
  }

  mailboxDirPath(dirName: string): string {
    return join(this.mailDir, dirName);
  }

  /** Mailbox directories present on disk (whatever the database says). */
  mailboxDirsOnDisk(): string[] {
    return listMailboxDirs(this.mailDir);
  }

  close(): void {
    if (this.db.open) this.db.close();
    const wal = this.walFile;
    this.walFile = undefined;
    wal?.then(
      (fh) => fh.close(),
      () => undefined,
    ).catch(() => undefined);
  }
}

export type RebuildFn = (fresh: { db: Db; mailDir: string }) => void;

export function listMailboxDirs(mailDir: string): string[] {
  try {
    return readdirSync(mailDir).filter(isMailboxDirName);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}

function initSchema(db: Db, user: string): void {
  immediateSync(db, () => {
    db.exec(USER_SCHEMA);
    stmt(db, "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
    stmt(db, "INSERT OR IGNORE INTO meta (key, value) VALUES ('user', ?)").run(user);
  });
}

function readVersion(db: Db): number {
  try {
    const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
    return row ? Number(row.value) : 0;
  } catch {
    return 0;
  }
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
const STALE_LOCK_MS = 30_000;

/** A short exclusive section between processes (creating a user's database). Blocking on
 * purpose: it happens once per user and lasts a few milliseconds. */
function withCreateLock<T>(dir: string, fn: () => T): T {
  const lock = join(dir, '.create.lock');
  for (let attempt = 0; ; attempt++) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
      try {
        if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) unlinkSync(lock);
      } catch {
        /* gone already */
      }
      if (attempt > 2000) throw new StoreError('io', `lock ${lock} held too long`);
      Atomics.wait(sleepCell, 0, 0, 5);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}
