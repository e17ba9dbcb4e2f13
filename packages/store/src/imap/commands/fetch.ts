// FETCH and UID FETCH (RFC 3501 6.4.5, 6.4.8): resolve the set against the session's view,
// set \Seen for non-PEEK body items (one engine call for the whole set), then one FETCH
// response per message, read from the immutable body file. Output is flushed as it grows so a
// large FETCH waits for a slow client instead of filling memory.
import { readFile } from 'node:fs/promises';
import type { MessageInfo } from '../../engine/index.js';
import { formatDateTime } from '../dates.js';
import { encodeFlagList, literalPrefix } from '../encode.js';
import { bad, no } from '../errors.js';
import { headerOf, selectHeaderFields, textOf } from '../message-parts.js';
import type { SelectedMailbox } from '../selected.js';
import { parseSequenceSet, resolveSequenceNumbers, resolveUids } from '../seqset.js';
import type { ImapSession } from '../session.js';
import { parseFetchItems, type FetchItem, type Section } from './fetch-items.js';
import { selectedState } from './select.js';
import { ok, SELECTED, type CommandSpec } from './types.js';

const FLUSH_BYTES = 256 * 1024;

/** Sequence numbers a (UID) set names in the view, ascending. */
export function targetSeqs(view: SelectedMailbox, setText: string, uid: boolean): number[] {
  const set = parseSequenceSet(setText);
  if (!set) throw bad('Invalid sequence set');
  if (uid) return resolveUids(set, view.allUids).map((u) => view.seqOf(u));
  const seqs = resolveSequenceNumbers(set, view.count);
  if (!seqs) throw bad(view.count === 0 ? 'No messages in mailbox' : 'Invalid message sequence number');
  return seqs;
}

function sectionBytes(msg: Buffer, section: Section): Buffer {
  switch (section.kind) {
    case 'full':
      return msg;
    case 'header':
      return headerOf(msg);
    case 'text':
      return textOf(msg);
    case 'fields':
      return selectHeaderFields(headerOf(msg), section.names, section.not);
  }
}

async function readBody(session: ImapSession, view: SelectedMailbox, uid: number): Promise<Buffer | null> {
  const s = selectedState(session);
  try {
    return await readFile(s.mailboxes.readMessage(view.name, uid).path);
  } catch {
    // Expunged by another session since this one last heard (RFC 2180 4.1): skip it.
    return null;
  }
}

export const fetchCommand: CommandSpec = {
  name: 'FETCH',
  states: SELECTED,
  uid: true,
  usesSeqs: true,
  async handle({ args, session, uid }) {
    const setText = args.atom('sequence set');
    const items = parseFetchItems(args.next('FETCH items'));
    args.end();
    const s = selectedState(session);
    const view = s.selected;
    const seqs = targetSeqs(view, setText, uid);
    if (uid && !items.some((i) => i.kind === 'uid')) items.unshift({ kind: 'uid' });
    const bodies = items.filter((i): i is Extract<FetchItem, { kind: 'body' }> => i.kind === 'body');
    // \Seen first, in one write, so the responses carry the new flags (RFC 3501 6.4.5).
    const seenNow = new Set<number>();
    if (!view.readOnly && bodies.some((b) => !b.peek)) {
      const unseen = seqs.map((n) => view.uidAt(n)).filter((u) => !view.isGhost(u) && !view.message(u)?.flags.includes('\\Seen'));
      if (unseen.length > 0) {
        const res = s.mailboxes.setFlags(view.name, unseen, 'add', ['\\Seen']);
        view.applyFlags(res.updated);
        for (const m of res.updated) seenNow.add(m.uid);
      }
    }
    let pendingBytes = 0;
    let skipped = 0;
    for (const seq of seqs) {
      const u = view.uidAt(seq);
      const info = view.message(u);
      if (!info) continue;
      const msg = bodies.length > 0 ? await readBody(session, view, u) : null;
      if (bodies.length > 0 && !msg) {
        skipped++;
        continue;
      }
      const parts: Array<string | Buffer> = [];
      const withFlags = seenNow.has(u) && !items.some((i) => i.kind === 'flags') ? [...items, { kind: 'flags' } as FetchItem] : items;
      withFlags.forEach((item, i) => {
        if (i > 0) parts.push(' ');
        renderItem(item, info, msg, parts);
      });
      session.sendRaw(`* ${seq} FETCH (`);
      for (const p of parts) {
        session.sendRaw(p);
        pendingBytes += p.length;
      }
      session.sendRaw(')\r\n');
      if (pendingBytes >= FLUSH_BYTES) {
        pendingBytes = 0;
        await session.flush();
      }
    }
    if (skipped > 0) throw no('Some of the requested messages no longer exist', 'EXPUNGEISSUED');
    return ok(`${uid ? 'UID ' : ''}FETCH completed`);
  },
};

function renderItem(item: FetchItem, info: MessageInfo, msg: Buffer | null, parts: Array<string | Buffer>): void {
  switch (item.kind) {
    case 'flags':
      parts.push(`FLAGS ${encodeFlagList(info.flags)}`);
      return;
    case 'internaldate':
      parts.push(`INTERNALDATE ${formatDateTime(info.internalDate)}`);
      return;
    case 'size':
      parts.push(`RFC822.SIZE ${info.size}`);
      return;
    case 'uid':
      parts.push(`UID ${info.uid}`);
      return;
    case 'body': {
      let data = sectionBytes(msg!, item.section);
      if (item.partial) {
        const { start, length } = item.partial;
        data = start >= data.length ? Buffer.alloc(0) : data.subarray(start, start + length);
      }
      parts.push(`${item.label} ${literalPrefix(data)}`, data);
    }
  }
}
