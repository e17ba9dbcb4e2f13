// Quota rules. Limits come from the directory through the relay on every delivery and are
// cached in the user's database, so a delivery without them (or admin tools) uses the last
// known value. A message that does not fit is refused (no overdraft): 452 4.2.2 while the
// refusals are younger than the grace period, 552 5.2.2 after. The over-quota period starts at
// the first refusal and ends when the user frees space or the limit is raised; a message that
// fits is always stored, whatever the period says.
import { stmt, type Db } from './sqlite.js';
import type { QuotaInfo } from './types.js';

export interface QuotaRow {
  used_bytes: number;
  used_messages: number;
  limit_bytes: number;
  limit_messages: number;
  over_since: number | null;
  warned_at: number | null;
}

export type QuotaVerdict = { ok: true } | { ok: false; tooLarge: true } | { ok: false; tooLarge: false; permanent: boolean };

export function readQuota(db: Db): QuotaRow {
  return stmt(db, 'SELECT used_bytes, used_messages, limit_bytes, limit_messages, over_since, warned_at FROM quota WHERE id = 1').get() as QuotaRow;
}

export function quotaInfo(q: QuotaRow): QuotaInfo {
  return {
    usedBytes: q.used_bytes,
    usedMessages: q.used_messages,
    limitBytes: q.limit_bytes,
    limitMessages: q.limit_messages,
    overQuotaSince: q.over_since,
  };
}

/** A limit as passed by the relay: >0 a limit, 0 none (-1 stored), <0 or absent unknown. */
function learnt(value: number | undefined): number | undefined {
  if (value === undefined || !Number.isFinite(value) || value < 0) return undefined;
  return value === 0 ? -1 : Math.trunc(value);
}

function isRaise(oldLimit: number, newLimit: number): boolean {
  return newLimit === -1 ? oldLimit !== -1 : oldLimit !== -1 && newLimit > oldLimit;
}

/** Caches limits passed with a delivery; raising a limit ends an over-quota period. Call in a write transaction. */
export function learnLimits(db: Db, limits: { quotaBytes?: number; quotaMessages?: number }): void {
  const bytes = learnt(limits.quotaBytes);
  const messages = learnt(limits.quotaMessages);
  if (bytes === undefined && messages === undefined) return;
  const q = readQuota(db);
  const newBytes = bytes ?? q.limit_bytes;
  const newMessages = messages ?? q.limit_messages;
  if (newBytes === q.limit_bytes && newMessages === q.limit_messages) return;
  const raised = isRaise(q.limit_bytes, newBytes) || isRaise(q.limit_messages, newMessages);
  stmt(db, 'UPDATE quota SET limit_bytes = ?, limit_messages = ?, over_since = CASE WHEN ? THEN NULL ELSE over_since END WHERE id = 1').run(
    newBytes,
    newMessages,
    raised ? 1 : 0,
  );
}

export function checkQuota(q: QuotaRow, sizeBytes: number, nowMs: number, graceMs: number): QuotaVerdict {
  if (q.limit_bytes > 0 && sizeBytes > q.limit_bytes) return { ok: false, tooLarge: true };
  const overBytes = q.limit_bytes > 0 && q.used_bytes + sizeBytes > q.limit_bytes;
  const overMessages = q.limit_messages > 0 && q.used_messages + 1 > q.limit_messages;
  if (!overBytes && !overMessages) return { ok: true };
  const permanent = q.over_since !== null && nowMs - q.over_since > graceMs;
  return { ok: false, tooLarge: false, permanent };
}

export function noteRefusal(db: Db, nowMs: number): void {
  stmt(db, 'UPDATE quota SET over_since = ? WHERE id = 1 AND over_since IS NULL').run(nowMs);
}

export function addUsage(db: Db, bytes: number, messages: number): void {
  stmt(db, 'UPDATE quota SET used_bytes = used_bytes + ?, used_messages = used_messages + ? WHERE id = 1').run(bytes, messages);
}

/**
 * Freeing space ends an over-quota period: the next refusal starts a new grace period. True
 * when mail had been refused for quota and the user is now under every limit (UnderQuota).
 */
export function removeUsage(db: Db, bytes: number, messages: number): boolean {
  if (bytes === 0 && messages === 0) return false;
  const wasOver = readQuota(db).over_since !== null;
  stmt(
    db,
    'UPDATE quota SET used_bytes = max(0, used_bytes - ?), used_messages = max(0, used_messages - ?), over_since = NULL WHERE id = 1',
  ).run(bytes, messages);
  if (!wasOver) return false;
  const q = readQuota(db);
  const under = (used: number, limit: number): boolean => limit <= 0 || used < limit;
  return under(q.used_bytes, q.limit_bytes) && under(q.used_messages, q.limit_messages);
}

/** Whether usage has reached warnPercent of a limit and no warning went out this period. */
export function warningDue(q: QuotaRow, warnPercent: number, intervalMs: number, nowMs: number): boolean {
  const reached = (used: number, limit: number): boolean => limit > 0 && used * 100 >= limit * warnPercent;
  if (!reached(q.used_bytes, q.limit_bytes) && !reached(q.used_messages, q.limit_messages)) return false;
  return q.warned_at === null || nowMs - q.warned_at >= intervalMs;
}

export function noteWarning(db: Db, nowMs: number): void {
  stmt(db, 'UPDATE quota SET warned_at = ? WHERE id = 1').run(nowMs);
}
