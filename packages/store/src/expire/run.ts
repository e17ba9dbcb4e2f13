// Applying the expiry rules to users' mailboxes (`tiermail store expire`, and the schedule in
// the store primary). A dry run reports what would go; otherwise the selected messages are
// removed in one expunge per folder, whatever their flags, and IMAP sessions hear of it.
import { closeSync, openSync, readSync } from 'node:fs';
import type { MessageStore } from '../engine/index.js';
import { headerValues } from '../imap/message-parts.js';
import { rulesFor, selectExpired, type ExpireRule } from './select.js';

export interface ExpiredMessage {
  user: string;
  mailbox: string;
  uid: number;
  size: number;
  rule: string;
}

export interface ExpireReport {
  dryRun: boolean;
  users: number;
  mailboxes: number;
  removed: ExpiredMessage[];
  /** Folders that could not be processed, with the reason (the run goes on). */
  errors: Array<{ user: string; mailbox?: string; error: string }>;
}

/** The header of a stored message (first 64 KiB at most), for header criteria. */
function readHeader(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(65536);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const text = buf.subarray(0, n);
    const end = text.indexOf('\r\n\r\n');
    return end >= 0 ? text.subarray(0, end + 2) : text;
  } finally {
    closeSync(fd);
  }
}

export async function expireUsers(
  store: MessageStore,
  rules: readonly ExpireRule[],
  opts: { users?: string[]; dryRun?: boolean; now?: number } = {},
): Promise<ExpireReport> {
  const now = opts.now ?? Date.now();
  const report: ExpireReport = { dryRun: opts.dryRun ?? false, users: 0, mailboxes: 0, removed: [], errors: [] };
  if (rules.length === 0) return report;
  for (const user of opts.users ?? store.users()) {
    let mbx;
    try {
      mbx = store.openUser(user, { create: false });
    } catch (err) {
      report.errors.push({ user, error: (err as Error).message });
      continue;
    }
    report.users++;
    try {
      for (const box of mbx.listMailboxes()) {
        const applicable = rulesFor(rules, mbx.user, box.name);
        if (applicable.length === 0) continue;
        report.mailboxes++;
        try {
          const msgs = mbx.messages(box.name);
          const headerMatches = (rule: ExpireRule, uid: number): boolean => {
            if (!rule.header) return false;
            const h = readHeader(mbx.readMessage(box.name, uid).path);
            return headerValues(h, rule.header.name).some((v) => v.toLowerCase().includes(rule.header!.contains.toLowerCase()));
          };
          const selected = selectExpired(applicable, msgs, now, headerMatches);
          if (selected.size === 0) continue;
          const uids = [...selected.keys()].sort((a, b) => a - b);
          const gone = opts.dryRun ? uids : await mbx.remove(box.name, uids);
          const size = new Map(msgs.map((m) => [m.uid, m.size]));
          for (const uid of gone) report.removed.push({ user: mbx.user, mailbox: box.name, uid, size: size.get(uid) ?? 0, rule: selected.get(uid)! });
        } catch (err) {
          report.errors.push({ user, mailbox: box.name, error: (err as Error).message });
        }
      }
    } finally {
      mbx.close();
    }
  }
  return report;
}
