// The selected mailbox as this session sees it: sequence numbers (position in `uids`), flags,
// and what other sessions and deliveries changed since the client last heard. Changes are found
// by MODSEQ (every change raises the mailbox's HIGHESTMODSEQ): one aggregate query when nothing
// changed, the changed rows when something did, a full listing only when messages vanished.
// Expunges are announced only where RFC 3501 7.4.1 allows them; until then an expunged message
// keeps its sequence number (a "ghost" that FETCH skips).
import type { MessageInfo, UserMailbox } from '../engine/index.js';
import { encodeFlagList } from './encode.js';
import { formatSequenceSet } from './seqset.js';

export class SelectedMailbox {
  private uids: number[] = [];
  private readonly info = new Map<number, MessageInfo>();
  private readonly ghosts = new Set<number>();
  private knownModseq = 0;
  /** CONDSTORE is on (RFC 7162): flag FETCH responses carry MODSEQ. */
  condstore = false;
  /** QRESYNC is on: expunges are announced as VANISHED instead of EXPUNGE. */
  qresync = false;

  private constructor(
    readonly name: string,
    readonly readOnly: boolean,
    readonly uidValidity: number,
  ) {}

  static open(mailboxes: UserMailbox, name: string, readOnly: boolean): { view: SelectedMailbox; uidNext: number } {
    const st = mailboxes.status(name);
    const view = new SelectedMailbox(st.name, readOnly, st.uidValidity);
    view.knownModseq = st.highestModseq;
    for (const m of mailboxes.messages(st.name)) view.add(m);
    return { view, uidNext: st.uidNext };
  }

  get count(): number {
    return this.uids.length;
  }

  /** UIDs in sequence order; index i is sequence number i + 1. */
  get allUids(): readonly number[] {
    return this.uids;
  }

  uidAt(seq: number): number {
    return this.uids[seq - 1]!;
  }

  /** Sequence number of a UID, or 0 when it is not in the view. */
  seqOf(uid: number): number {
    let lo = 0;
    let hi = this.uids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.uids[mid]!;
      if (v === uid) return mid + 1;
      if (v < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  message(uid: number): MessageInfo | undefined {
    return this.info.get(uid);
  }

  isGhost(uid: number): boolean {
    return this.ghosts.has(uid);
  }

  /** Flags the mailbox uses (SELECT's FLAGS response): system flags and every keyword seen. */
  keywords(): string[] {
    const set = new Set<string>();
    for (const m of this.info.values()) for (const f of m.flags) if (!f.startsWith('\\')) set.add(f);
    return [...set].sort();
  }

  /** Records flags this session changed itself (STORE, FETCH setting \Seen). */
  applyFlags(updated: MessageInfo[]): void {
    for (const m of updated) if (this.info.has(m.uid)) this.info.set(m.uid, m);
  }

  /**
   * Brings the view up to date and returns the untagged responses for the client: EXPUNGE
   * (only when allowExpunge), EXISTS, and FETCH FLAGS for flags changed elsewhere.
   */
  refresh(mailboxes: UserMailbox, allowExpunge: boolean): string[] {
    const out: string[] = [];
    const st = mailboxes.status(this.name);
    const before = this.count;
    if (st.highestModseq !== this.knownModseq || st.messages !== this.count - this.ghosts.size) {
      const changed = mailboxes.messages(this.name, { changedSinceModseq: this.knownModseq });
      this.knownModseq = st.highestModseq;
      for (const m of changed) this.merge(m, out);
      // UIDs only grow, so the view holds every old message plus the new ones: any difference
      // from the count read first means messages were expunged meanwhile.
      if (this.count - this.ghosts.size !== st.messages) {
        const present = new Set(mailboxes.messages(this.name).map((m) => m.uid));
        for (const uid of this.uids) if (!present.has(uid)) this.ghosts.add(uid);
      }
    }
    const grew = this.count > before;
    if (allowExpunge && this.ghosts.size > 0) out.unshift(...this.announceExpunges());
    if (grew) out.push(`* ${this.count} EXISTS`);
    return out;
  }

  /** EXPUNGE responses for this session's own expunge, sent at once (MOVE). */
  flushExpunges(): string[] {
    return this.announceExpunges();
  }

  /** Expunges this session made that are still to be announced. */
  get hasPendingExpunges(): boolean {
    return this.ghosts.size > 0;
  }

  /** HIGHESTMODSEQ as this view knows it. */
  get highestModseq(): number {
    return this.knownModseq;
  }

  /** A flag FETCH response for a message, with MODSEQ under CONDSTORE. */
  flagsResponse(uid: number, withUid = true): string {
    const m = this.info.get(uid)!;
    const items = [...(withUid ? [`UID ${uid}`] : []), `FLAGS ${encodeFlagList(m.flags)}`, ...(this.condstore ? [`MODSEQ (${m.modseq})`] : [])];
    return `* ${this.seqOf(uid)} FETCH (${items.join(' ')})`;
  }

  /** Removes ghosts; `* n EXPUNGE` in descending order so each number is right when read, or
   * one `* VANISHED uids` under QRESYNC (RFC 7162 3.2.10). */
  private announceExpunges(): string[] {
    const out: string[] = [];
    if (this.qresync) {
      const gone = this.uids.filter((u) => this.ghosts.has(u));
      if (gone.length === 0) return out;
      this.uids = this.uids.filter((u) => !this.ghosts.has(u));
      for (const u of gone) {
        this.info.delete(u);
        this.ghosts.delete(u);
      }
      return [`* VANISHED ${formatSequenceSet(gone)}`];
    }
    for (let i = this.uids.length - 1; i >= 0; i--) {
      const uid = this.uids[i]!;
      if (!this.ghosts.has(uid)) continue;
      out.push(`* ${i + 1} EXPUNGE`);
      this.uids.splice(i, 1);
      this.info.delete(uid);
      this.ghosts.delete(uid);
    }
    return out;
  }

  /** Marks UIDs this session expunged, to be announced by the next refresh(…, true). */
  markExpunged(uids: number[]): void {
    for (const uid of uids) if (this.info.has(uid)) this.ghosts.add(uid);
  }

  private merge(m: MessageInfo, out: string[]): void {
    const known = this.info.get(m.uid);
    if (known) {
      const changed = known.flags.join(' ') !== m.flags.join(' ');
      this.info.set(m.uid, m);
      if (changed) out.push(this.flagsResponse(m.uid));
      return;
    }
    const last = this.uids[this.uids.length - 1] ?? 0;
    // The engine commits UIDs in order (deliver.ts T2); should a lower one ever appear late
    // anyway, sequence numbers must stay in UID order, so it waits for the next SELECT.
    if (m.uid > last) this.add(m);
  }

  private add(m: MessageInfo): void {
    this.uids.push(m.uid);
    this.info.set(m.uid, m);
  }
}
