// Delivery of one message to many recipients. Per partition, in this order:
//   1. high-water check (statfs);
//   2. per recipient, a short durable write transaction (T1): delivery-id and quota checks,
//      folder, and a UID reserved by advancing UIDNEXT (gaps are fine, reuse never happens).
//      Durable because no file may carry a UID that a crash could hand out again: with the
//      reservation on disk first, a leftover link always sits below UIDNEXT;
//   3. the body goes once into the partition's objects/ (fsync file, fsync directory);
//   4. per recipient, link() into the mailbox directory under a name that carries UID, date,
//      flags and delivery-id hash, then fsync that directory;
//   5. per recipient, the durable commit (T2): message row, delivery id, quota use.
// 'stored' is returned only after 5, so an LMTP 250 always means file, names and row are on
// disk. A crash before 5 leaves a link without a row: it was never acknowledged; see
// reconstruct.ts for what becomes of it.
import { linkSync } from 'node:fs';
import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger, StoreConfig } from '@tiermail/core';
import { INBOX, normalizeMailboxName } from '../mailbox-name.js';
import { errnoCode, fsyncPath } from './durable-fs.js';
import { normalizeFlags } from './flags.js';
import { canonicalUser, dedupKey, formatMessageFileName, parseMessageFileName } from './layout.js';
import { ensureInbox, findMailbox, type MailboxRow } from './mailboxes.js';
import { isAboveHighWater, placeObject, type BodySource, type PartitionRef } from './partitions.js';
import { addUsage, checkQuota, learnLimits, noteRefusal, noteWarning, readQuota, warningDue } from './quota.js';
import type { UserRegistry } from './registry.js';
import { stmt, type Db } from './sqlite.js';
import { StaleDatabaseError, type UserDb } from './user-db.js';
import type { UserDbPool } from './user-pool.js';
import type { DeliverOptions, DeliveryOutcome, DeliveryRecipient } from './types.js';

export interface DeliveryEnv {
  cfg: StoreConfig;
  now: () => number;
  logger?: Logger;
  partitions: Map<string, PartitionRef>;
  registry: UserRegistry;
  pool: UserDbPool;
}

interface Message {
  size: number;
  internalDateMs: number;
  flags: string[];
  bypassQuota: boolean;
}

interface Target {
  index: number;
  recipient: DeliveryRecipient;
  user: string;
  dedup: string | null;
}

interface Reservation {
  udb: UserDb;
  mailboxId: number;
  dir: string;
  uidValidity: number;
  uid: number;
  fileName: string;
}

type Step = { kind: 'reserved'; res: Reservation } | { kind: 'done'; outcome: DeliveryOutcome };

// Concurrent deliveries to one mailbox may each retry a few times to keep UIDs visible in order.
const MAX_ATTEMPTS = 20;
const MAX_UID = 0xffffffff;

function ioError(err: unknown): DeliveryOutcome {
  return { status: 'io-error', detail: err instanceof Error ? err.message : String(err) };
}

export async function deliverMessage(
  env: DeliveryEnv,
  body: { path: string } | { data: Buffer } | { stored: string },
  recipients: DeliveryRecipient[],
  opts: DeliverOptions = {},
): Promise<DeliveryOutcome[]> {
  const now = env.now();
  const outcomes: DeliveryOutcome[] = new Array(recipients.length);
  const unreferenced: string[] = [];
  const source: BodySource =
    'path' in body ? { kind: 'path', path: body.path, owned: true } : 'stored' in body ? { kind: 'stored', path: body.stored } : { kind: 'data', data: body.data };
  try {
    let message: Message;
    try {
      message = {
        size: source.kind === 'data' ? source.data.length : (await stat(source.path)).size,
        internalDateMs: opts.internalDate?.getTime() ?? now,
        flags: normalizeFlags(opts.flags ?? []),
        bypassQuota: opts.bypassQuota ?? false,
      };
    } catch (err) {
      return recipients.map(() => ioError(err));
    }
    const windowMs = env.cfg.dedupWindowHours * 3_600_000;
    const groups = new Map<string, Target[]>();
    recipients.forEach((recipient, index) => {
      try {
        const user = canonicalUser(recipient.user);
        const partition = env.registry.assign(user, now);
        const dedup = recipient.deliveryId && windowMs > 0 ? dedupKey(recipient.deliveryId) : null;
        const list = groups.get(partition) ?? [];
        list.push({ index, recipient, user, dedup });
        groups.set(partition, list);
      } catch (err) {
        outcomes[index] = ioError(err);
      }
    });
    for (const [name, targets] of groups) {
      const partition = env.partitions.get(name);
      if (!partition) {
        for (const t of targets) outcomes[t.index] = ioError(new Error(`unknown partition ${name}`));
        continue;
      }
      await deliverOnPartition(env, partition, targets, source, message, now, outcomes, unreferenced);
    }
    return outcomes;
  } finally {
    for (const path of unreferenced) await unlink(path).catch(() => undefined);
    // The spool file belongs to the store once deliver() is called: moved in, or removed.
    if (source.kind === 'path' && source.owned) await unlink(source.path).catch(() => undefined);
  }
}

async function deliverOnPartition(
  env: DeliveryEnv,
  partition: PartitionRef,
  targets: Target[],
  source: BodySource,
  message: Message,
  now: number,
  outcomes: DeliveryOutcome[],
  unreferenced: string[],
): Promise<void> {
  try {
    if (await isAboveHighWater(partition)) {
      for (const t of targets) outcomes[t.index] = { status: 'partition-full' };
      env.logger?.warn({ partition: partition.name }, 'partition above its high-water mark');
      return;
    }
  } catch (err) {
    for (const t of targets) outcomes[t.index] = ioError(err);
    return;
  }
  const pending: Array<{ target: Target; res: Reservation }> = [];
  for (const target of targets) {
    const step = await reserveFor(env, target, message, now);
    if (step.kind === 'done') outcomes[target.index] = step.outcome;
    else pending.push({ target, res: step.res });
  }
  if (pending.length === 0) return;
  let objectPath: string;
  try {
    // A stored message on this partition's file system is linked as it is (single instance).
    objectPath = source.kind === 'stored' && (await sameDevice(source.path, partition.path)) ? source.path : (await placeObject(partition, source, now)).path;
  } catch (err) {
    env.logger?.error({ err, partition: partition.name }, 'cannot write message body');
    for (const p of pending) {
      env.pool.release(p.res.udb);
      outcomes[p.target.index] = ioError(err);
    }
    return;
  }
  await Promise.all(
    pending.map(async ({ target, res }) => {
      outcomes[target.index] = await linkAndCommit(env, target, res, objectPath, message, now);
    }),
  );
  // Nobody took the body (duplicates, quota): drop the partition's own link, once no other
  // partition can still need it as the source of its copy.
  if (objectPath !== (source.kind === 'stored' ? source.path : null) && !pending.some((p) => outcomes[p.target.index]?.status === 'stored')) {
    unreferenced.push(objectPath);
  }
}

async function sameDevice(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([stat(a), stat(b)]);
  return sa.dev === sb.dev;
}

/** Acquires the user's database and reserves a UID; the reservation keeps the handle. */
async function reserveFor(env: DeliveryEnv, target: Target, message: Message, now: number, skipPastUid = 0, depth = 0): Promise<Step> {
  let udb: UserDb;
  try {
    udb = env.pool.acquire(target.user);
  } catch (err) {
    env.logger?.error({ err, user: target.user }, 'cannot open user database');
    return { kind: 'done', outcome: ioError(err) };
  }
  try {
    const step = await udb.writeDurable(() => reserve(env, udb, target, message, now, skipPastUid));
    if (step.kind === 'done') env.pool.release(udb);
    return step;
  } catch (err) {
    env.pool.release(udb);
    // The database file was replaced (reconstruct): start again on the new one.
    if (err instanceof StaleDatabaseError && depth < MAX_ATTEMPTS) return reserveFor(env, target, message, now, skipPastUid, depth + 1);
    env.logger?.error({ err, user: target.user }, 'delivery reservation failed');
    return { kind: 'done', outcome: ioError(err) };
  }
}

/** T1, inside a write transaction. */
function reserve(env: DeliveryEnv, udb: UserDb, target: Target, message: Message, now: number, skipPastUid: number): Step {
  udb.assertCurrent();
  const db = udb.db;
  learnLimits(db, target.recipient);
  const dup = target.dedup ? findDuplicate(db, target.dedup, now - env.cfg.dedupWindowHours * 3_600_000) : null;
  if (dup) return { kind: 'done', outcome: dup };
  const refusal = quotaRefusal(env, db, message, now);
  if (refusal) return { kind: 'done', outcome: refusal };
  const mb = resolveFolder(udb, target.recipient.folder, now);
  const uid = Math.max(mb.uidnext, skipPastUid + 1);
  if (uid > MAX_UID) return { kind: 'done', outcome: ioError(new Error(`mailbox ${mb.name} has run out of UIDs`)) };
  stmt(db, 'UPDATE mailboxes SET uidnext = ? WHERE id = ?').run(uid + 1, mb.id);
  const fileName = formatMessageFileName({ uid, internalDateMs: message.internalDateMs, flags: message.flags, dedupKey: target.dedup });
  return { kind: 'reserved', res: { udb, mailboxId: mb.id, dir: mb.dir, uidValidity: mb.uidvalidity, uid, fileName } };
}

function resolveFolder(udb: UserDb, folder: string | undefined, now: number): MailboxRow {
  if (folder) {
    let name: string | null = null;
    try {
      name = normalizeMailboxName(folder);
    } catch {
      name = null;
    }
    const found = name && name !== INBOX ? findMailbox(udb.db, name) : undefined;
    if (found) return found;
  }
  return ensureInbox(udb, now);
}

function findDuplicate(db: Db, key: string, sinceMs: number): DeliveryOutcome | null {
  const row = stmt(
    db,
    'SELECT d.uid AS uid, m.name AS name, m.uidvalidity AS uidvalidity FROM deliveries d LEFT JOIN mailboxes m ON m.id = d.mailbox_id WHERE d.id = ? AND d.at >= ?',
  ).get(key, sinceMs) as { uid: number | null; name: string | null; uidvalidity: number | null } | undefined;
  if (!row) return null;
  if (row.name === null || row.uid === null || row.uidvalidity === null) return { status: 'duplicate' };
  return { status: 'duplicate', uidValidity: row.uidvalidity, uid: row.uid, folder: row.name };
}

function quotaRefusal(env: DeliveryEnv, db: Db, message: Message, now: number): DeliveryOutcome | null {
  if (message.bypassQuota) return null;
  const verdict = checkQuota(readQuota(db), message.size, now, env.cfg.quota.graceHours * 3_600_000);
  if (verdict.ok) return null;
  if (verdict.tooLarge) return { status: 'too-large' };
  noteRefusal(db, now);
  return { status: 'over-quota', permanent: verdict.permanent };
}

async function linkAndCommit(
  env: DeliveryEnv,
  target: Target,
  first: Reservation,
  objectPath: string,
  message: Message,
  now: number,
): Promise<DeliveryOutcome> {
  let res: Reservation | null = first;
  let linkedPath: string | null = null;
  try {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const dirPath = res.udb.mailboxDirPath(res.dir);
      const filePath = join(dirPath, res.fileName);
      let skipPastUid = 0;
      try {
        // A quick metadata call, done in place (see durable-fs.ts).
        linkSync(objectPath, filePath);
        linkedPath = filePath;
      } catch (err) {
        const code = errnoCode(err);
        if (code !== 'EEXIST' && code !== 'ENOENT') throw err;
        // EEXIST: a link left by a crash before its commit holds this UID; step past every
        // UID present. ENOENT: the mailbox was deleted meanwhile; choose the folder again.
        if (code === 'EEXIST') skipPastUid = await highestUidIn(dirPath);
      }
      if (linkedPath) {
        await fsyncPath(dirPath);
        const outcome = await commit(env, res, target, message, now);
        if (outcome !== 'retry' && outcome.status === 'stored') {
          linkedPath = null;
          return outcome;
        }
        await unlink(linkedPath).catch(() => undefined);
        linkedPath = null;
        if (outcome !== 'retry') return outcome;
      }
      env.pool.release(res.udb);
      res = null;
      const step = await reserveFor(env, target, message, now, skipPastUid);
      if (step.kind === 'done') return step.outcome;
      res = step.res;
    }
    return ioError(new Error('delivery kept conflicting with concurrent changes'));
  } catch (err) {
    env.logger?.error({ err, user: target.user }, 'delivery failed');
    // Never committed, never acknowledged: the link would only be an orphan.
    if (linkedPath) await unlink(linkedPath).catch(() => undefined);
    return ioError(err);
  } finally {
    if (res) env.pool.release(res.udb);
  }
}

async function highestUidIn(dirPath: string): Promise<number> {
  let max = 0;
  for (const name of await readdir(dirPath)) {
    const parsed = parseMessageFileName(name);
    if (parsed && parsed.uid > max) max = parsed.uid;
  }
  return max;
}

/** T2, the durable commit. 'retry' when the mailbox or the database changed under us. */
async function commit(env: DeliveryEnv, res: Reservation, target: Target, message: Message, now: number): Promise<DeliveryOutcome | 'retry'> {
  const db = res.udb.db;
  try {
    return await res.udb.writeDurable((): DeliveryOutcome | 'retry' => {
      res.udb.assertCurrent();
      const mb = stmt(db, 'SELECT * FROM mailboxes WHERE id = ?').get(res.mailboxId) as MailboxRow | undefined;
      if (!mb || mb.dir !== res.dir || mb.uidvalidity !== res.uidValidity) return 'retry';
      // A concurrent delivery that reserved a higher UID committed first: committing ours now
      // would make a lower UID appear after a higher one, which IMAP sessions cannot show
      // (sequence numbers follow UIDs). Take a fresh UID above it instead.
      const top = stmt(db, 'SELECT max(uid) AS top FROM messages WHERE mailbox_id = ?').get(mb.id) as { top: number | null };
      if (top.top !== null && top.top > res.uid) return 'retry';
      const windowMs = env.cfg.dedupWindowHours * 3_600_000;
      const dup = target.dedup ? findDuplicate(db, target.dedup, now - windowMs) : null;
      if (dup) return dup;
      const refusal = quotaRefusal(env, db, message, now);
      if (refusal) return refusal;
      const modseq = mb.highestmodseq + 1;
      stmt(db, 'UPDATE mailboxes SET highestmodseq = ?, uidnext = max(uidnext, ?) WHERE id = ?').run(modseq, res.uid + 1, mb.id);
      stmt(db, 'INSERT INTO messages (mailbox_id, uid, file, size, internal_date, flags, modseq) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
        mb.id,
        res.uid,
        res.fileName,
        message.size,
        message.internalDateMs,
        message.flags.join(' '),
        modseq,
      );
      if (target.dedup) {
        stmt(db, 'DELETE FROM deliveries WHERE at < ?').run(now - windowMs);
        stmt(db, 'INSERT OR REPLACE INTO deliveries (id, at, mailbox_id, uid) VALUES (?, ?, ?, ?)').run(target.dedup, now, mb.id, res.uid);
      }
      addUsage(db, message.size, 1);
      const stored: DeliveryOutcome = { status: 'stored', uidValidity: mb.uidvalidity, uid: res.uid, folder: mb.name };
      const q = readQuota(db);
      if (!message.bypassQuota && warningDue(q, env.cfg.quota.warnPercent, env.cfg.quota.warnIntervalHours * 3_600_000, now)) {
        noteWarning(db, now);
        stored.quotaWarning = true;
      }
      return stored;
    });
  } catch (err) {
    if (err instanceof StaleDatabaseError) return 'retry';
    throw err;
  }
}
