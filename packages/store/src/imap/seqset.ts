// Sequence sets (RFC 3501 section 9, "sequence-set"): "1", "2:4", "7:*", "*", "1,3:5,9:*".
// One parsed form serves message sequence numbers and UIDs; only what "*" stands for differs:
// the number of messages for sequence numbers, the highest UID in the mailbox for UIDs.
// Ranges are kept as ranges, never expanded blindly: "1:4294967295" costs nothing.

export type SeqNumber = number | '*';

export interface SeqRange {
  from: SeqNumber;
  to: SeqNumber;
}

export type SequenceSet = SeqRange[];

const MAX_NZ = 0xffffffff;

function parseSeqNumber(s: string): SeqNumber | null {
  if (s === '*') return '*';
  if (!/^[1-9][0-9]{0,9}$/.test(s)) return null;
  const n = Number(s);
  return n <= MAX_NZ ? n : null;
}

/** Parses a sequence set; null when it is not one. "$" (SEARCHRES) is not supported. */
export function parseSequenceSet(text: string): SequenceSet | null {
  if (text === '' || text.length > 100_000) return null;
  const out: SequenceSet = [];
  for (const part of text.split(',')) {
    const colon = part.indexOf(':');
    const a = parseSeqNumber(colon < 0 ? part : part.slice(0, colon));
    const b = colon < 0 ? a : parseSeqNumber(part.slice(colon + 1));
    if (a === null || b === null) return null;
    out.push({ from: a, to: b });
  }
  return out;
}

function bounds(r: SeqRange, star: number): [number, number] {
  const a = r.from === '*' ? star : r.from;
  const b = r.to === '*' ? star : r.to;
  return a <= b ? [a, b] : [b, a];
}

export function seqSetContains(set: SequenceSet, n: number, star: number): boolean {
  return set.some((r) => {
    const [lo, hi] = bounds(r, star);
    return n >= lo && n <= hi;
  });
}

/** The highest number the set names explicitly ("*" excluded). */
export function seqSetMaxExplicit(set: SequenceSet): number {
  let max = 0;
  for (const r of set) for (const v of [r.from, r.to]) if (v !== '*' && v > max) max = v;
  return max;
}

/**
 * Message sequence numbers of a set in a mailbox of `count` messages, ascending, each once.
 * Null when the set names a number above count (or anything in an empty mailbox): RFC 3501
 * treats that as an error of the client.
 */
export function resolveSequenceNumbers(set: SequenceSet, count: number): number[] | null {
  if (count === 0 || seqSetMaxExplicit(set) > count) return null;
  const hit = new Uint8Array(count + 1);
  for (const r of set) {
    const [lo, hi] = bounds(r, count);
    for (let n = lo; n <= hi; n++) hit[n] = 1;
  }
  const out: number[] = [];
  for (let n = 1; n <= count; n++) if (hit[n]) out.push(n);
  return out;
}

/**
 * The UIDs of `uids` (ascending, as the mailbox holds them) that the set names; "*" is the
 * highest UID, so "n:*" names it even when n is above every UID (RFC 3501 6.4.8).
 */
export function resolveUids(set: SequenceSet, uids: readonly number[]): number[] {
  if (uids.length === 0) return [];
  const star = uids[uids.length - 1]!;
  const ranges = set.map((r) => bounds(r, star));
  return uids.filter((u) => ranges.some(([lo, hi]) => u >= lo && u <= hi));
}

/** Compresses ascending (or any) numbers into the shortest sequence-set text: "1:3,7,9:10". */
export function formatSequenceSet(numbers: Iterable<number>): string {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const parts: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}:${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
