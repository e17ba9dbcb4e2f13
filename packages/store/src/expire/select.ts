// Which messages of a folder the expiry rules select (pure; the seeds' imexpire semantics).
// The rules that apply to a folder are those whose pattern matches "user@domain/Folder"; an
// exclusive rule replaces all others (the last one wins). A message goes when any applicable
// rule selects it (the most restrictive policy). Within a rule, criteria are or-ed (join: and
// makes them and-ed); seen/deleted "or" add the flagged messages, "and" keep only them.
import type { StoreConfig } from '@tiermail/core';

export type ExpireRule = StoreConfig['expire']['rules'][number];

export interface ExpireMessage {
  uid: number;
  size: number;
  internalDate: Date;
  flags: string[];
}

const DAY = 86_400_000;

export function rulesFor(rules: readonly ExpireRule[], user: string, folder: string): ExpireRule[] {
  const key = `${user}/${folder}`;
  const matching = rules.filter((r) => {
    try {
      return new RegExp(`^(?:${r.folders})$`).test(key);
    } catch {
      return false; // a bad pattern matches nothing (the config check reports it)
    }
  });
  const exclusive = matching.filter((r) => r.exclusive);
  return exclusive.length > 0 ? [exclusive[exclusive.length - 1]!] : matching;
}

/** A bad `folders` pattern, named for the config check, or null. */
export function badPattern(rules: readonly ExpireRule[]): string | null {
  for (const r of rules) {
    try {
      new RegExp(r.folders);
    } catch (err) {
      return `store.expire.rules ${r.name}: folders ${JSON.stringify(r.folders)} is not a regular expression (${(err as Error).message})`;
    }
  }
  return null;
}

/** Oldest first (UID order is arrival order) until the limit holds. */
function oldestBeyond(msgs: readonly ExpireMessage[], over: (kept: { count: number; bytes: number }) => boolean): Set<number> {
  const out = new Set<number>();
  const kept = { count: msgs.length, bytes: msgs.reduce((n, m) => n + m.size, 0) };
  for (const m of msgs) {
    if (!over(kept)) break;
    out.add(m.uid);
    kept.count--;
    kept.bytes -= m.size;
  }
  return out;
}

/**
 * UIDs one rule selects. headerMatches is asked only for rules with a header criterion (it
 * reads the message).
 */
export function selectByRule(rule: ExpireRule, msgs: readonly ExpireMessage[], now: number, headerMatches: (uid: number) => boolean): Set<number> {
  const sorted = [...msgs].sort((a, b) => a.uid - b.uid);
  const criteria: Array<Set<number>> = [];
  if (rule.messageDays !== undefined) criteria.push(new Set(sorted.filter((m) => m.internalDate.getTime() < now - rule.messageDays! * DAY).map((m) => m.uid)));
  if (rule.messageCount !== undefined) criteria.push(oldestBeyond(sorted, (k) => k.count > rule.messageCount!));
  if (rule.folderSize !== undefined) criteria.push(oldestBeyond(sorted, (k) => k.bytes > rule.folderSize!));
  if (rule.messageSize !== undefined) {
    const graceEnd = now - rule.messageSizeDays * DAY;
    criteria.push(new Set(sorted.filter((m) => m.size > rule.messageSize! && m.internalDate.getTime() < graceEnd).map((m) => m.uid)));
  }
  if (rule.header) criteria.push(new Set(sorted.filter((m) => headerMatches(m.uid)).map((m) => m.uid)));
  const flagged = (flag: string) => new Set(sorted.filter((m) => m.flags.includes(flag)).map((m) => m.uid));
  if (rule.seen === 'or') criteria.push(flagged('\\Seen'));
  if (rule.deleted === 'or') criteria.push(flagged('\\Deleted'));
  let selected: Set<number>;
  if (criteria.length === 0) selected = new Set();
  else if (rule.join === 'and') selected = new Set([...criteria[0]!].filter((u) => criteria.every((c) => c.has(u))));
  else selected = new Set(criteria.flatMap((c) => [...c]));
  if (rule.seen === 'and') selected = new Set([...selected].filter((u) => flagged('\\Seen').has(u)));
  if (rule.deleted === 'and') selected = new Set([...selected].filter((u) => flagged('\\Deleted').has(u)));
  return selected;
}

/** UID → the first rule that selected it, over every applicable rule. */
export function selectExpired(rules: readonly ExpireRule[], msgs: readonly ExpireMessage[], now: number, headerMatches: (rule: ExpireRule, uid: number) => boolean): Map<number, string> {
  const out = new Map<number, string>();
  for (const rule of rules) {
    for (const uid of selectByRule(rule, msgs, now, (u) => headerMatches(rule, u))) if (!out.has(uid)) out.set(uid, rule.name);
  }
  return out;
}
