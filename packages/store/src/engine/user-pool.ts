// Open user databases, shared by every caller in the process and reference counted: a handle
// in use by a delivery is never closed under it. Idle handles beyond the limit are closed,
// least recently used first. A handle whose file was replaced is retired and reopened.
import { StoreError } from './errors.js';
import { userDirIn } from './layout.js';
import type { PartitionRef, UserRegistry } from './registry.js';
import { UserDb, type RebuildFn } from './user-db.js';

interface Entry {
  udb: UserDb;
  refs: number;
  retired: boolean;
  lastUsed: number;
}

export class UserDbPool {
  private readonly current = new Map<string, Entry>();
  private readonly byHandle = new Map<UserDb, Entry>();

  constructor(
    private readonly registry: UserRegistry,
    private readonly partitions: Map<string, PartitionRef>,
    private readonly now: () => number,
    private readonly rebuild: RebuildFn,
    private readonly maxIdle = 256,
  ) {}

  /** The user's database, created (with INBOX later, on first need) when create is set. */
  acquire(user: string, opts: { create?: boolean } = {}): UserDb {
    const create = opts.create ?? true;
    const existing = this.current.get(user);
    if (existing && existing.udb.isCurrent()) {
      existing.refs++;
      existing.lastUsed = this.now();
      return existing.udb;
    }
    if (existing) this.retire(existing);
    const partitionName = create ? this.registry.assign(user, this.now()) : this.registry.lookup(user);
    if (!partitionName) throw new StoreError('notFound', `no mailbox for ${user}`);
    const partition = this.partitions.get(partitionName);
    if (!partition) throw new StoreError('io', `user ${user} is on unknown partition ${partitionName}`);
    const dir = userDirIn(partition.path, user);
    const udb = UserDb.open({ user, partition: partition.name, partitionPath: partition.path, dir, create, rebuild: this.rebuild });
    const entry: Entry = { udb, refs: 1, retired: false, lastUsed: this.now() };
    this.current.set(user, entry);
    this.byHandle.set(udb, entry);
    this.evictIdle();
    return udb;
  }

  release(udb: UserDb): void {
    const entry = this.byHandle.get(udb);
    if (!entry) return;
    entry.refs = Math.max(0, entry.refs - 1);
    if (entry.retired && entry.refs === 0) this.closeEntry(entry);
  }

  /** Runs fn with the user's database, released afterwards. */
  async with<T>(user: string, fn: (udb: UserDb) => T | Promise<T>, opts: { create?: boolean } = {}): Promise<T> {
    const udb = this.acquire(user, opts);
    try {
      return await fn(udb);
    } finally {
      this.release(udb);
    }
  }

  /** Forgets the current handle of a user (its file is about to be replaced). */
  invalidate(user: string): void {
    const entry = this.current.get(user);
    if (entry) this.retire(entry);
  }

  closeAll(): void {
    for (const entry of [...this.byHandle.values()]) this.closeEntry(entry);
  }

  private retire(entry: Entry): void {
    entry.retired = true;
    if (this.current.get(entry.udb.user) === entry) this.current.delete(entry.udb.user);
    if (entry.refs === 0) this.closeEntry(entry);
  }

  private closeEntry(entry: Entry): void {
    this.byHandle.delete(entry.udb);
    if (this.current.get(entry.udb.user) === entry) this.current.delete(entry.udb.user);
    entry.udb.close();
  }

  private evictIdle(): void {
    if (this.current.size <= this.maxIdle) return;
    const idle = [...this.current.values()].filter((e) => e.refs === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const entry of idle.slice(0, this.current.size - this.maxIdle)) this.closeEntry(entry);
  }
}
