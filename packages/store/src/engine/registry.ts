// The store-wide list of users and the partition each lives on. It is small and written only
// when a user is first seen, so one SQLite file serves every worker process. A user found on
// disk but missing here (registry lost, user copied in by hand) is adopted where it is found.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REGISTRY_SCHEMA } from './schema.js';
import { immediateSync, openSqlite, stmt, type Db } from './sqlite.js';
import { MAIL_DIR, userDirIn } from './layout.js';

export interface PartitionRef {
  name: string;
  path: string;
  highWaterPercent: number;
}

export class UserRegistry {
  private readonly db: Db;
  private readonly cache = new Map<string, string>();

  constructor(
    readonly path: string,
    private readonly partitions: Map<string, PartitionRef>,
    private readonly defaultPartition: string,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = openSqlite(path);
    immediateSync(this.db, () => this.db.exec(REGISTRY_SCHEMA));
  }

  /** The user's partition name, or undefined when the user has never been seen. */
  lookup(user: string): string | undefined {
    const known = this.cache.get(user) ?? this.fromTable(user);
    return known ?? this.findOnDisk(user);
  }

  /** The user's partition; a new user is written down, on the partition where its directory
   * already is or else on the default partition. Only that first time takes a write lock. */
  assign(user: string, nowMs: number): string {
    const known = this.cache.get(user) ?? this.fromTable(user);
    if (known) return known;
    const wanted = this.findOnDisk(user) ?? this.defaultPartition;
    const partition = immediateSync(this.db, () => {
      stmt(this.db, 'INSERT OR IGNORE INTO users (user, partition, created) VALUES (?, ?, ?)').run(user, wanted, nowMs);
      return (stmt(this.db, 'SELECT partition FROM users WHERE user = ?').get(user) as { partition: string }).partition;
    });
    this.cache.set(user, partition);
    return partition;
  }

  /** Replaces the share index entries of one owner (from its ACLs). */
  syncShares(owner: string, entries: Array<{ mailbox: string; identifier: string }>): void {
    immediateSync(this.db, () => {
      stmt(this.db, 'DELETE FROM shares WHERE owner = ?').run(owner);
      const ins = stmt(this.db, 'INSERT OR IGNORE INTO shares (grantee, owner, mailbox) VALUES (?, ?, ?)');
      for (const e of entries) ins.run(e.identifier, owner, e.mailbox);
    });
  }

  /** Mailboxes of other users with an ACL entry for one of the grantees. */
  sharesFor(grantees: string[]): Array<{ owner: string; mailbox: string }> {
    if (grantees.length === 0) return [];
    const marks = grantees.map(() => '?').join(', ');
    return stmt(this.db, `SELECT DISTINCT owner, mailbox FROM shares WHERE grantee IN (${marks}) ORDER BY owner, mailbox`).all(...grantees) as Array<{
      owner: string;
      mailbox: string;
    }>;
  }

  usersOn(partition: string): string[] {
    const rows = stmt(this.db, 'SELECT user FROM users WHERE partition = ? ORDER BY user').all(partition) as Array<{ user: string }>;
    return rows.map((r) => r.user);
  }

  close(): void {
    this.db.close();
  }

  private fromTable(user: string): string | undefined {
    const row = stmt(this.db, 'SELECT partition FROM users WHERE user = ?').get(user) as { partition: string } | undefined;
    if (row) this.cache.set(user, row.partition);
    return row?.partition;
  }

  private findOnDisk(user: string): string | undefined {
    for (const p of this.partitions.values()) {
      // The directory, not the database: a user whose database was lost is still there.
      if (existsSync(join(userDirIn(p.path, user), MAIL_DIR))) return p.name;
    }
    return undefined;
  }
}
