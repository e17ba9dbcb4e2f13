// One user's mailboxes, as IMAP, POP3 and the admin commands see them. Methods that only touch
// the database (and small sidecar files) are synchronous, like better-sqlite3 itself; those
// that remove message files return promises. The owner's rights are implicit; ACL entries are
// stored for other identifiers (RFC 4314) and enforced by the protocol layers.
import { INBOX } from '../mailbox-name.js';
import { StoreError } from './errors.js';
import {
  allMailboxes,
  createMailboxTx,
  deleteMailboxTx,
  ensureInbox,
  findMailbox,
  mailboxName,
  removeMailboxDir,
  renameMailboxTx,
  requireMailbox,
  toMailboxInfo,
} from './mailboxes.js';
import { expunge, expungedSince, listMessages, mailboxStatus, messageFile, messageFiles, setFlags } from './messages.js';
import { quotaInfo, readQuota } from './quota.js';
import { immediateSync, stmt } from './sqlite.js';
import type { UserDb } from './user-db.js';
import type { UserDbPool } from './user-pool.js';
import type { FlagMode, MailboxInfo, MailboxStatus, MessageFile, MessageInfo, QuotaInfo, SetFlagsResult, StoreChange, UserSnapshot } from './types.js';

const RIGHTS = /^[lrswipkxteacd]*$/;

export interface AclEntry {
  identifier: string;
  rights: string;
}

export class UserMailbox {
  private udb: UserDb | null;
  private checkedAt = 0;

  constructor(
    private readonly pool: UserDbPool,
    udb: UserDb,
    private readonly now: () => number,
    private readonly onChange: (user: string, change: StoreChange) => void = () => undefined,
  ) {
    this.udb = udb;
    if (!findMailbox(udb.db, INBOX)) immediateSync(udb.db, () => ensureInbox(udb, now()));
  }

  get user(): string {
    return this.handle().user;
  }

  get partition(): string {
    return this.handle().partition;
  }

  /** The current handle; reopened if reconstruct replaced the database file meanwhile. That
   * check costs a stat(); reads do it at most once a second (a replaced file stays readable,
   * and writes check again under their lock, UserDb.assertCurrent). */
  private handle(): UserDb {
    if (!this.udb) throw new StoreError('notAllowed', 'user mailbox is closed');
    const now = Date.now();
    if (now - this.checkedAt < 1000) return this.udb;
    this.checkedAt = now;
    if (!this.udb.isCurrent()) {
      const user = this.udb.user;
      this.pool.release(this.udb);
      this.udb = null;
      this.udb = this.pool.acquire(user, { create: false });
    }
    return this.udb;
  }

  listMailboxes(): MailboxInfo[] {
    const { db } = this.handle();
    return db.transaction(() => allMailboxes(db).map((row) => toMailboxInfo(db, row))).deferred();
  }

  createMailbox(name: string, opts: { specialUse?: string } = {}): MailboxInfo {
    const udb = this.handle();
    const row = immediateSync(udb.db, () => createMailboxTx(udb, name, this.now(), opts.specialUse));
    return toMailboxInfo(udb.db, row);
  }

  renameMailbox(from: string, to: string): void {
    const udb = this.handle();
    immediateSync(udb.db, () => renameMailboxTx(udb, from, to, this.now()));
  }

  deleteMailbox(name: string): void {
    const udb = this.handle();
    const dirPath = immediateSync(udb.db, () => deleteMailboxTx(udb, name));
    removeMailboxDir(dirPath);
  }

  subscribe(name: string): void {
    const { db } = this.handle();
    stmt(db, 'INSERT OR IGNORE INTO subscriptions (name) VALUES (?)').run(mailboxName(name));
  }

  unsubscribe(name: string): void {
    const { db } = this.handle();
    stmt(db, 'DELETE FROM subscriptions WHERE name = ?').run(mailboxName(name));
  }

  subscriptions(): string[] {
    const { db } = this.handle();
    return (stmt(db, 'SELECT name FROM subscriptions ORDER BY name').all() as Array<{ name: string }>).map((r) => r.name);
  }

  status(name: string): MailboxStatus {
    return mailboxStatus(this.handle().db, name);
  }

  messages(name: string, opts: { changedSinceModseq?: number } = {}): MessageInfo[] {
    return listMessages(this.handle().db, name, opts);
  }

  /** UIDs expunged since a MODSEQ (QRESYNC). */
  expungedSince(name: string, modseq: number): number[] {
    return expungedSince(this.handle().db, name, modseq);
  }

  /** Files of many messages in one go; UIDs that are gone are absent. */
  readMessages(name: string, uids: readonly number[]): Map<number, MessageFile> {
    return messageFiles(this.handle(), name, uids);
  }

  readMessage(name: string, uid: number): MessageFile {
    return messageFile(this.handle(), name, uid);
  }

  setFlags(name: string, uids: number[], mode: FlagMode, flags: string[], opts: { unchangedSince?: number } = {}): SetFlagsResult {
    const udb = this.handle();
    const result = setFlags(udb.db, name, uids, mode, flags, opts);
    if (result.updated.length > 0) this.onChange(udb.user, { kind: 'flags', mailbox: name, updated: result.updated, before: result.before });
    return result;
  }

  /** Removes messages flagged \Deleted (only those in uids, when given); returns their UIDs. */
  async expunge(name: string, uids?: number[]): Promise<number[]> {
    const udb = this.handle();
    const gone = await expunge(udb, name, uids, { onUnderQuota: () => this.onChange(udb.user, { kind: 'under-quota' }) });
    if (gone.length > 0) this.onChange(udb.user, { kind: 'expunged', mailbox: name, uids: gone });
    return gone;
  }

  /** Removes exactly these messages whatever their flags (expiry, administrative removal). */
  async remove(name: string, uids: number[]): Promise<number[]> {
    if (uids.length === 0) return [];
    const udb = this.handle();
    const gone = await expunge(udb, name, uids, { anyFlags: true, onUnderQuota: () => this.onChange(udb.user, { kind: 'under-quota' }) });
    if (gone.length > 0) this.onChange(udb.user, { kind: 'expunged', mailbox: name, uids: gone });
    return gone;
  }

  getAcl(name: string): AclEntry[] {
    const { db } = this.handle();
    const mb = requireMailbox(db, name);
    return stmt(db, 'SELECT identifier, rights FROM acl WHERE mailbox_id = ? ORDER BY identifier').all(mb.id) as AclEntry[];
  }

  /** Sets an identifier's rights; empty rights remove the entry. */
  setAcl(name: string, identifier: string, rights: string): void {
    if (!RIGHTS.test(rights)) throw new StoreError('notAllowed', `invalid rights ${JSON.stringify(rights)}`);
    if (identifier === '' || identifier.length > 320) throw new StoreError('notAllowed', 'invalid identifier');
    const { db } = this.handle();
    const mb = requireMailbox(db, name);
    const sorted = [...new Set(rights)].sort().join('');
    if (sorted === '') stmt(db, 'DELETE FROM acl WHERE mailbox_id = ? AND identifier = ?').run(mb.id, identifier);
    else stmt(db, 'INSERT OR REPLACE INTO acl (mailbox_id, identifier, rights) VALUES (?, ?, ?)').run(mb.id, identifier, sorted);
  }

  /** Everything about the user's mail at one instant (one read transaction in WAL mode, so
   * deliveries and IMAP changes go on meanwhile). */
  snapshot(): UserSnapshot {
    const udb = this.handle();
    const { db } = udb;
    return db
      .transaction((): UserSnapshot => ({
        user: udb.user,
        takenAt: new Date(this.now()),
        subscriptions: this.subscriptions(),
        mailboxes: allMailboxes(db).map((row) => ({
          ...toMailboxInfo(db, row),
          acl: this.getAcl(row.name),
          messages: listMessages(db, row.name).map((m) => ({ ...m, path: messageFile(udb, row.name, m.uid).path })),
        })),
      }))
      .deferred();
  }

  /** Every ACL entry of every mailbox (for the store's share index). */
  allAcl(): Array<AclEntry & { mailbox: string }> {
    const { db } = this.handle();
    return stmt(db, 'SELECT m.name AS mailbox, a.identifier AS identifier, a.rights AS rights FROM acl a JOIN mailboxes m ON m.id = a.mailbox_id').all() as Array<
      AclEntry & { mailbox: string }
    >;
  }

  deleteAcl(name: string, identifier: string): void {
    this.setAcl(name, identifier, '');
  }

  quota(): QuotaInfo {
    return quotaInfo(readQuota(this.handle().db));
  }

  close(): void {
    if (this.udb) this.pool.release(this.udb);
    this.udb = null;
  }
}
