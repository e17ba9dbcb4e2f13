// Which queued messages a `tiermail queue` command acts on: given ids, or every message that
// matches the filters (channel, destination, sender, recipient domain, age, held). A message
// matches when one of its waiting recipients matches the recipient filters, so an operator can
// act on "everything for example.com older than 2h" across thousands of messages at once.
import type { Command } from 'commander';
import { isSpoolId, type Channel, type Envelope, type Spool } from '@tiermail/mta';
import { UsageError } from '../context.js';

export interface QueueFilter {
  channel?: Channel;
  destination?: string;
  /** Sender address or @domain (case-insensitive); "<>" for the null sender. */
  from?: string;
  /** Recipient domain. */
  toDomain?: string;
  /** Older than this many ms. */
  olderThanMs?: number;
  held?: boolean;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "30m", "2h", "7d" → ms. */
export function parseAge(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  if (!m) throw new UsageError(`--older-than ${text}: expected a number and s, m, h or d (like 30m or 2h)`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

export function addFilterOptions(cmd: Command): Command {
  return cmd
    .option('--channel <channel>', 'lmtp or smtp')
    .option('--destination <name>', 'a store (mailHost) or a remote domain')
    .option('--from <address>', 'envelope sender, or @domain; <> for the null sender')
    .option('--to-domain <domain>', 'recipient domain')
    .option('--older-than <age>', 'received longer ago than this (30m, 2h, 7d)')
    .option('--held', 'only messages on hold');
}

export function filterFrom(o: Record<string, unknown>): QueueFilter {
  const f: QueueFilter = {};
  if (o.channel !== undefined) {
    if (o.channel !== 'lmtp' && o.channel !== 'smtp') throw new UsageError(`--channel ${String(o.channel)}: expected lmtp or smtp`);
    f.channel = o.channel;
  }
  if (typeof o.destination === 'string') f.destination = o.destination.toLowerCase();
  if (typeof o.from === 'string') f.from = o.from.toLowerCase();
  if (typeof o.toDomain === 'string') f.toDomain = o.toDomain.toLowerCase().replace(/^@/, '');
  if (typeof o.olderThan === 'string') f.olderThanMs = parseAge(o.olderThan);
  if (o.held === true) f.held = true;
  return f;
}

export function hasFilter(f: QueueFilter): boolean {
  return Object.keys(f).length > 0;
}

function senderMatches(env: Envelope, from: string): boolean {
  if (from === '<>') return env.from === '';
  const s = env.from.toLowerCase();
  return from.startsWith('@') ? s.endsWith(from) : s === from;
}

export function matches(env: Envelope, f: QueueFilter, now = Date.now()): boolean {
  if (f.held && !env.held) return false;
  if (f.from !== undefined && !senderMatches(env, f.from)) return false;
  if (f.olderThanMs !== undefined && now - Date.parse(env.receivedAt) < f.olderThanMs) return false;
  if (f.channel === undefined && f.destination === undefined && f.toDomain === undefined) return true;
  return env.recipients.some(
    (r) =>
      r.status.state === 'pending' &&
      (f.channel === undefined || r.channel === f.channel) &&
      (f.destination === undefined || r.destination.toLowerCase() === f.destination) &&
      (f.toDomain === undefined || r.to.toLowerCase().endsWith(`@${f.toDomain}`)),
  );
}

/** Every queued envelope, oldest first (unreadable ones skipped: `queue list` names them). */
export async function envelopes(spool: Spool): Promise<Envelope[]> {
  const out: Envelope[] = [];
  for await (const id of spool.ids()) {
    const env = await spool.readEnvelope(id).catch(() => null);
    if (env) out.push(env);
  }
  return out.sort((a, b) => a.receivedAt.localeCompare(b.receivedAt));
}

/** The messages a command acts on: the ids given, or the filter's matches (--all: everything). */
export async function select(spool: Spool, ids: string[], o: Record<string, unknown>): Promise<Envelope[]> {
  const f = filterFrom(o);
  if (ids.length > 0) {
    if (hasFilter(f) || o.all) throw new UsageError('give queue ids or filters, not both');
    const out: Envelope[] = [];
    for (const id of ids) {
      if (!isSpoolId(id)) throw new UsageError(`${id} is not a queue id`);
      const env = await spool.readEnvelope(id);
      if (!env) throw new UsageError(`${id} is not in the queue`, 1);
      out.push(env);
    }
    return out;
  }
  if (!hasFilter(f) && !o.all) throw new UsageError('give queue ids, filters (--to-domain, --older-than ...) or --all');
  return (await envelopes(spool)).filter((e) => matches(e, f));
}
