// The storage engine's entry point. One MessageStore per process; several processes (cluster
// workers, the CLI) may open the same partitions at once: all coordination goes through
// SQLite locks and atomic file system operations, never through process memory.
import { randomBytes } from 'node:crypto';
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger, StoreConfig } from '@tiermail/core';
import { deliverMessage, type DeliveryEnv } from './deliver.js';
import { StoreError } from './errors.js';
import { collectGarbage } from './gc.js';
import { checkUserIntegrity } from './integrity.js';
import { USER_DB_FILE, canonicalUser, tempDir, userDirIn } from './layout.js';
import { diskUsedPercent, partitionsFromConfig, preparePartition, type PartitionRef } from './partitions.js';
import { DEFAULT_ORPHAN_GRACE_MS, rebuildFromFiles, repairAgainstFiles, type RebuildStats } from './reconstruct.js';
import { UserRegistry } from './registry.js';
import { openSqlite } from './sqlite.js';
import { UserMailbox } from './user-mailbox.js';
import { UserDbPool } from './user-pool.js';
import type {
  CopyResult,
  DeliverOptions,
  DeliveryOutcome,
  DeliveryRecipient,
  GcReport,
  StoreChange,
  IntegrityReport,
  PartitionStat,
  ReconstructReport,
} from './types.js';

export interface MessageStoreOptions {
  logger?: Logger;
  /** Clock in epoch ms (tests move it to cross grace periods and windows). */
  now?: () => number;
  /** Store-wide user → partition database. @defaultValue <default partition>/registry.sqlite */
  registryPath?: string;
  /** Idle user databases kept open per process. @defaultValue 256 */
  maxOpenUsers?: number;
  /** Called after anything changed a user's messages (delivery, flags, expunge, copy), so
   * IMAP sessions in IDLE can be told (changes.ts). */
  onChange?: (user: string, change: StoreChange) => void;
}

export class MessageStore {
  private readonly partitions: Map<string, PartitionRef>;
  private readonly registry: UserRegistry;
  private readonly pool: UserDbPool;
  private readonly env: DeliveryEnv;
  private readonly now: () => number;
  private readonly logger: Logger | undefined;
  private readonly onChange: (user: string, change: StoreChange) => void;
  /** Stats of rebuilds done while opening a database, by mail directory (for reconstruct). */
  private readonly rebuilt = new Map<string, RebuildStats>();
  private closed = false;

  private constructor(
    private readonly cfg: StoreConfig,
    opts: MessageStoreOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.logger = opts.logger;
    this.onChange = opts.onChange ?? (() => undefined);
    this.partitions = partitionsFromConfig(cfg);
    for (const p of this.partitions.values()) preparePartition(p);
    const defaultPartition = this.partitions.get(cfg.defaultPartition);
    if (!defaultPartition) throw new StoreError('notFound', `default partition ${cfg.defaultPartition} is not configured`);
    this.registry = new UserRegistry(opts.registryPath ?? join(defaultPartition.path, 'registry.sqlite'), this.partitions, cfg.defaultPartition);
    this.pool = new UserDbPool(
      this.registry,
      this.partitions,
      this.now,
      (fresh) => {
        const stats = rebuildFromFiles(fresh, this.now(), { keepState: false });
        this.rebuilt.set(fresh.mailDir, stats);
        this.logger?.warn({ mailDir: fresh.mailDir, ...stats }, 'user database was missing: rebuilt from message files');
      },
      opts.maxOpenUsers,
    );
    this.env = { cfg, now: this.now, logger: opts.logger, partitions: this.partitions, registry: this.registry, pool: this.pool };
  }

  static open(cfg: StoreConfig, opts: MessageStoreOptions = {}): MessageStore {
    return new MessageStore(cfg, opts);
  }

  /**
   * Stores one message for every recipient and returns one outcome per recipient, in order.
   * Resolves only once the body, its directory entries and the metadata commits are durable.
   * A body given as a path (from tempPathFor()) belongs to the store from this call on: it is
   * moved into the store or removed, whatever the outcomes.
   */
  deliver(body: { path: string } | { data: Buffer } | { stored: string }, recipients: DeliveryRecipient[], opts: DeliverOptions = {}): Promise<DeliveryOutcome[]> {
    this.assertOpen();
    return deliverMessage(this.env, body, recipients, opts).then((outcomes) => {
      const changed = new Set<string>();
      outcomes.forEach((o, i) => {
        const r = recipients[i];
        if (o.status === 'stored' && r) changed.add(canonicalUser(r.user));
      });
      // The service publishes NewMsg per recipient itself (it knows the LMTP envelope).
      for (const u of changed) this.onChange(u, { kind: 'delivered' });
      return outcomes;
    });
  }

  /** Brings the share index in step with the owner's ACLs (after SETACL, DELETEACL, RENAME,
   * DELETE of a shared mailbox). */
  syncShares(owner: string): void {
    this.assertOpen();
    const canonical = canonicalUser(owner);
    const mbx = this.openUser(canonical, { create: false });
    try {
      this.registry.syncShares(canonical, mbx.allAcl().filter((e) => e.rights.includes('l')));
    } finally {
      mbx.close();
    }
  }

  /** Mailboxes other users shared with `user` (or with anyone), as the index knows them; the
   * caller checks the owner's ACL itself, the index may lag behind. */
  sharedWith(user: string): Array<{ owner: string; mailbox: string }> {
    this.assertOpen();
    const canonical = canonicalUser(user);
    return this.registry.sharesFor([canonical, 'anyone']).filter((s) => s.owner !== canonical);
  }

  /**
   * COPY (RFC 3501 6.4.7, UIDPLUS): each message of `uids` in `from`, in UID order, becomes a
   * new message of `to` with the same flags and INTERNALDATE, linked to the same body. Counted
   * against the quota like a delivery. Stops at the first failure and reports what was done,
   * so a partial copy can be undone by the caller (RFC 3501: COPY is all or nothing).
   */
  async copyMessages(user: string, from: string, uids: number[], to: string, toUser: string = user): Promise<CopyResult> {
    this.assertOpen();
    const mbx = this.openUser(user, { create: false });
    const destMbx = toUser === user ? mbx : this.openUser(toUser, { create: false });
    const copied: Array<[number, number]> = [];
    let uidValidity = 0;
    try {
      const dest = destMbx.status(to);
      uidValidity = dest.uidValidity;
      const wanted = new Set(uids);
      for (const m of mbx.messages(from)) {
        if (!wanted.has(m.uid)) continue;
        const file = mbx.readMessage(from, m.uid);
        const [outcome] = await deliverMessage(this.env, { stored: file.path }, [{ user: toUser, folder: dest.name }], {
          internalDate: m.internalDate,
          flags: m.flags,
        });
        if (outcome?.status !== 'stored' || outcome.folder !== dest.name || outcome.uidValidity !== uidValidity) {
          return { ok: false, uidValidity, copied, failure: outcome ?? { status: 'io-error', detail: 'no outcome' } };
        }
        copied.push([m.uid, outcome.uid]);
      }
      return { ok: true, uidValidity, copied };
    } finally {
      mbx.close();
      if (destMbx !== mbx) destMbx.close();
      if (copied.length > 0) this.onChange(canonicalUser(toUser), { kind: 'copied', mailbox: to, uids: copied.map(([, d]) => d) });
    }
  }

  /** A new path where LMTP should spool an incoming body: on the partition of `user` (the
   * default partition for unknown users or none), so deliver() can move it in with rename(). */
  tempPathFor(user?: string): string {
    this.assertOpen();
    let partition = this.cfg.defaultPartition;
    if (user) {
      try {
        partition = this.registry.lookup(canonicalUser(user)) ?? partition;
      } catch {
        /* invalid name: default partition */
      }
    }
    const p = this.partitions.get(partition) ?? this.partitions.get(this.cfg.defaultPartition)!;
    return join(tempDir(p.path), `${this.now()}-${process.pid}-${randomBytes(6).toString('hex')}.msg`);
  }

  /** Opens a user's mailboxes (created, with INBOX, unless create is false). Close it after use. */
  openUser(user: string, opts: { create?: boolean } = {}): UserMailbox {
    this.assertOpen();
    const udb = this.pool.acquire(canonicalUser(user), opts);
    try {
      return new UserMailbox(this.pool, udb, this.now, this.onChange);
    } catch (err) {
      this.pool.release(udb);
      throw err;
    }
  }

  hasUser(user: string): boolean {
    const canonical = canonicalUser(user);
    const partition = this.registry.lookup(canonical);
    const p = partition ? this.partitions.get(partition) : undefined;
    return p !== undefined && existsSync(join(userDirIn(p.path, canonical), USER_DB_FILE));
  }

  /** The partition a user lives on, or undefined for a user never seen. */
  userPartition(user: string): string | undefined {
    return this.registry.lookup(canonicalUser(user));
  }

  users(partition?: string): string[] {
    const names = partition ? [partition] : [...this.partitions.keys()];
    return names.flatMap((p) => this.registry.usersOn(p));
  }

  /** Users, messages and bytes per partition (reads every user's quota row). */
  async stat(): Promise<PartitionStat[]> {
    this.assertOpen();
    const out: PartitionStat[] = [];
    for (const p of this.partitions.values()) {
      const users = this.registry.usersOn(p.name);
      let messages = 0;
      let bytes = 0;
      for (const user of users) {
        const dbPath = join(userDirIn(p.path, user), USER_DB_FILE);
        if (!existsSync(dbPath)) continue;
        const db = openSqlite(dbPath, { readonly: true, mustExist: true });
        try {
          const q = db.prepare('SELECT used_bytes, used_messages FROM quota WHERE id = 1').get() as { used_bytes: number; used_messages: number } | undefined;
          messages += q?.used_messages ?? 0;
          bytes += q?.used_bytes ?? 0;
        } finally {
          db.close();
        }
      }
      out.push({ partition: p.name, path: p.path, users: users.length, messages, bytes, diskUsedPercent: await diskUsedPercent(p.path) });
    }
    return out;
  }

  /**
   * Rebuilds (database missing or corrupt, or opts.rebuild) or repairs (database sound) a
   * user's metadata from the message files. See reconstruct.ts for what each mode keeps.
   */
  async reconstruct(user: string, opts: { rebuild?: boolean; orphanGraceMs?: number } = {}): Promise<ReconstructReport> {
    this.assertOpen();
    const canonical = canonicalUser(user);
    const partitionName = this.registry.lookup(canonical);
    const partition = partitionName ? this.partitions.get(partitionName) : undefined;
    if (!partition) throw new StoreError('notFound', `no mailbox for ${canonical}`);
    const dir = userDirIn(partition.path, canonical);
    const dbPath = join(dir, USER_DB_FILE);
    if (existsSync(dbPath) && !this.isSound(canonical)) {
      // Set aside, not deleted: an operator may want to look at it. Processes still holding
      // the old file notice the inode change and reopen.
      const suffix = `.corrupt-${this.now()}`;
      this.pool.invalidate(canonical);
      for (const ext of ['', '-wal', '-shm']) if (existsSync(dbPath + ext)) renameSync(dbPath + ext, dbPath + suffix + ext);
      this.logger?.warn({ user: canonical, movedTo: dbPath + suffix }, 'user database corrupt: rebuilding from message files');
    }
    this.rebuilt.delete(join(dir, 'mail'));
    const missing = !existsSync(dbPath);
    return this.pool.with(canonical, async (udb) => {
      let mode: ReconstructReport['mode'];
      let stats: RebuildStats;
      const onOpen = this.rebuilt.get(udb.mailDir);
      if (missing) {
        mode = 'rebuild';
        stats = onOpen ?? { mailboxes: 0, messages: 0, missingFiles: 0, orphans: 0 };
        this.rebuilt.delete(udb.mailDir);
      } else if (opts.rebuild) {
        mode = 'rebuild';
        stats = rebuildFromFiles(udb, this.now(), { keepState: true });
      } else {
        mode = 'repair';
        stats = repairAgainstFiles(udb, this.now(), opts.orphanGraceMs ?? DEFAULT_ORPHAN_GRACE_MS);
      }
      const counts = udb.db.prepare('SELECT (SELECT count(*) FROM mailboxes) AS mailboxes, (SELECT count(*) FROM messages) AS messages').get() as {
        mailboxes: number;
        messages: number;
      };
      return { user: canonical, mode, mailboxes: counts.mailboxes, messages: counts.messages, missingFiles: stats.missingFiles, orphans: stats.orphans };
    });
  }

  /** PRAGMA integrity_check plus the database against the files; read-only. */
  async checkIntegrity(user: string): Promise<IntegrityReport> {
    this.assertOpen();
    const canonical = canonicalUser(user);
    const partition = this.registry.lookup(canonical);
    const p = partition ? this.partitions.get(partition) : undefined;
    if (!p) throw new StoreError('notFound', `no mailbox for ${canonical}`);
    // Checking must not repair: a missing database is reported, not rebuilt on open.
    if (!existsSync(join(userDirIn(p.path, canonical), USER_DB_FILE))) {
      return { user: canonical, ok: false, problems: ['database missing (run reconstruct)'], warnings: [] };
    }
    try {
      return await this.pool.with(
        canonical,
        (udb) => {
          const f = checkUserIntegrity(udb);
          return { user: canonical, ok: f.problems.length === 0, problems: f.problems, warnings: f.warnings };
        },
        { create: false },
      );
    } catch (err) {
      if (err instanceof StoreError) throw err;
      return { user: canonical, ok: false, problems: [`cannot open database: ${(err as Error).message}`], warnings: [] };
    }
  }

  /** Removes unreferenced bodies and abandoned spool files (all partitions, or one). */
  async gc(opts: { partition?: string; minAgeMs?: number } = {}): Promise<GcReport[]> {
    this.assertOpen();
    const targets = opts.partition ? [this.partitions.get(opts.partition)] : [...this.partitions.values()];
    const out: GcReport[] = [];
    for (const p of targets) {
      if (!p) throw new StoreError('notFound', `no partition ${opts.partition}`);
      out.push(await collectGarbage(p, opts));
    }
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pool.closeAll();
    this.registry.close();
  }

  private isSound(user: string): boolean {
    let udb;
    try {
      udb = this.pool.acquire(user, { create: false });
      const rows = udb.db.pragma('quick_check') as Array<{ quick_check: string }>;
      return rows.length === 1 && rows[0]!.quick_check === 'ok';
    } catch {
      return false;
    } finally {
      if (udb) this.pool.release(udb);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('notAllowed', 'message store is closed');
  }
}
