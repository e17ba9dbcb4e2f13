// FETCH and UID FETCH (RFC 3501 6.4.5, 6.4.8): resolve the set against the session's view,
// set \Seen for non-PEEK body items (one engine call for the whole set), then one FETCH
// response per message, read from the immutable body file. Output is flushed as it grows so a
// large FETCH waits for a slow client instead of filling memory.
import type { MessageFile, MessageInfo } from '../../engine/index.js';
import { formatDateTime } from '../dates.js';
import { encodeFlagList, literalPrefix } from '../encode.js';
import { bad, no } from '../errors.js';
import { headerOf, selectHeaderFields, textOf } from '../message-parts.js';
import { readMessage } from '../message-reader.js';
import { bodyStructure, envelope } from '../../mime/imap-structure.js';
import { findPart, parseMessage, type MimePart } from '../../mime/structure.js';
import type { SelectedMailbox } from '../selected.js';
import { formatSequenceSet, parseSequenceSet, resolveSequenceNumbers, resolveUids } from '../seqset.js';
import type { ImapSession } from '../session.js';
import type { Args } from './args.js';
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

/**
 * The bytes a section names. Part numbers go through the MIME tree; a part that does not exist
 * gives an empty string, and HEADER/TEXT of a part that is not a message/rfc822 too.
 */
function sectionBytes(msg: Buffer, section: Section, tree: () => MimePart): Buffer {
  let target = msg;
  if (section.path.length > 0) {
    const part = findPart(tree(), section.path);
    if (!part) return Buffer.alloc(0);
    if (section.kind === 'full') return part.buf.subarray(part.bodyStart, part.bodyEnd);
    if (section.kind === 'mime') return part.buf.subarray(part.headerStart, part.headerEnd);
    if (!part.message) return Buffer.alloc(0);
    target = part.buf.subarray(part.message.headerStart, part.message.bodyEnd);
  }
  switch (section.kind) {
    case 'full':
    case 'mime':
      return target;
    case 'header':
      return headerOf(target);
    case 'text':
      return textOf(target);
    case 'fields':
      return selectHeaderFields(headerOf(target), section.names, section.not);
  }
}

async function readBody(file: MessageFile | undefined, headerOnly: boolean): Promise<Buffer | null> {
  if (!file) return null;
  try {
    return await readMessage(file.path, headerOnly, file.size);
  } catch {
    // Expunged by another session since this one last heard (RFC 2180 4.1): skip it.
    return null;
  }
}

/** FETCH modifiers (RFC 7162): (CHANGEDSINCE modseq [VANISHED]). */
function parseModifiers(args: Args, session: ImapSession, uid: boolean): { changedSince?: number; vanished: boolean } {
  const out: { changedSince?: number; vanished: boolean } = { vanished: false };
  if (args.remaining === 0) return out;
  const list = args.list('FETCH modifiers');
  for (let i = 0; i < list.length; i++) {
    const a = list[i]!;
    const name = a.type === 'atom' ? a.value.toUpperCase() : '';
    if (name === 'CHANGEDSINCE') {
      const v = list[++i];
      if (v?.type !== 'atom' || !/^\d{1,19}$/.test(v.value)) throw bad('CHANGEDSINCE needs a mod-sequence');
      out.changedSince = Number(v.value);
      session.enableCondstore();
    } else if (name === 'VANISHED') {
      // RFC 7162 3.2.6: UID FETCH only, with QRESYNC enabled, and with CHANGEDSINCE.
      if (!uid || !session.qresync) throw bad('VANISHED needs UID FETCH and ENABLE QRESYNC');
      out.vanished = true;
    } else throw bad(`Unknown FETCH modifier ${name || '?'}`);
  }
  if (out.vanished && out.changedSince === undefined) throw bad('VANISHED needs CHANGEDSINCE');
  return out;
}

export const fetchCommand: CommandSpec = {
  name: 'FETCH',
  states: SELECTED,
  uid: true,
  usesSeqs: true,
  async handle({ args, session, uid }) {
    const setText = args.atom('sequence set');
    const items = parseFetchItems(args.next('FETCH items'));
    const mods = parseModifiers(args, session, uid);
    args.end();
    const s = selectedState(session);
    const view = s.selected;
    let seqs = targetSeqs(view, setText, uid);
    if (uid && !items.some((i) => i.kind === 'uid')) items.unshift({ kind: 'uid' });
    if (items.some((i) => i.kind === 'modseq')) session.enableCondstore();
    if (mods.changedSince !== undefined) {
      // CHANGEDSINCE (RFC 7162 3.1.4.1): only messages changed after it, with their MODSEQ.
      if (!items.some((i) => i.kind === 'modseq')) items.push({ kind: 'modseq' });
      if (mods.vanished) {
        const inSet = new Set(resolveUids(parseSequenceSet(setText)!, [...view.allUids, ...s.mailboxes.expungedSince(view.name, mods.changedSince)].sort((a, b) => a - b)));
        const gone = s.mailboxes.expungedSince(view.name, mods.changedSince).filter((u) => inSet.has(u));
        if (gone.length > 0) session.send(`* VANISHED (EARLIER) ${formatSequenceSet(gone)}`);
      }
      // From the engine, not the view: changes other sessions made since this one last heard
      // count too (the view takes the new flags, so they are not announced a second time).
      const fresh = s.mailboxes.messages(view.name, { changedSinceModseq: mods.changedSince });
      view.applyFlags(fresh);
      const changed = new Set(fresh.map((m) => m.uid));
      seqs = seqs.filter((n) => changed.has(view.uidAt(n)));
    }
    const bodies = items.filter((i): i is Extract<FetchItem, { kind: 'body' }> => i.kind === 'body');
    const needsMessage = bodies.length > 0 || items.some((i) => i.kind === 'envelope' || i.kind === 'structure');
    // Header fields and ENVELOPE of the message itself need only the header block.
    const headerOnly =
      !items.some((i) => i.kind === 'structure') &&
      bodies.every((b) => b.section.path.length === 0 && (b.section.kind === 'header' || b.section.kind === 'fields') && !b.partial);
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
    const files = needsMessage ? s.mailboxes.readMessages(view.name, seqs.map((n) => view.uidAt(n))) : new Map<number, MessageFile>();
    for (const seq of seqs) {
      const u = view.uidAt(seq);
      const info = view.message(u);
      if (!info) continue;
      const msg = needsMessage ? await readBody(files.get(u), headerOnly) : null;
      if (needsMessage && !msg) {
        skipped++;
        continue;
      }
      const parts: Array<string | Buffer> = [];
      let withFlags = seenNow.has(u) && !items.some((i) => i.kind === 'flags') ? [...items, { kind: 'flags' } as FetchItem] : items;
      // Under CONDSTORE a flag change this FETCH made is reported with its MODSEQ.
      if (seenNow.has(u) && session.condstore && !withFlags.some((i) => i.kind === 'modseq')) withFlags = [...withFlags, { kind: 'modseq' }];
      let parsed: MimePart | undefined;
      const tree = (): MimePart => (parsed ??= parseMessage(msg!));
      withFlags.forEach((item, i) => {
        if (i > 0) parts.push(' ');
        renderItem(item, info, msg, tree, parts);
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

function renderItem(item: FetchItem, info: MessageInfo, msg: Buffer | null, tree: () => MimePart, parts: Array<string | Buffer>): void {
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
    case 'modseq':
      parts.push(`MODSEQ (${info.modseq})`);
      return;
    case 'envelope':
      parts.push(`ENVELOPE ${envelope(tree())}`);
      return;
    case 'structure':
      parts.push(`${item.extended ? 'BODYSTRUCTURE' : 'BODY'} ${bodyStructure(tree(), item.extended)}`);
      return;
    case 'body': {
      let data = sectionBytes(msg!, item.section, tree);
      if (item.partial) {
        const { start, length } = item.partial;
        data = start >= data.length ? Buffer.alloc(0) : data.subarray(start, start + length);
      }
      parts.push(`${item.label} ${literalPrefix(data)}`, data);
    }
  }
}
