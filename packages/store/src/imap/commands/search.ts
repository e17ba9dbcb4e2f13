// SEARCH and UID SEARCH (RFC 3501 6.4.4, 6.4.8). Keys that need the message read each body
// file once; flag, size, date and set keys work from the view alone.
import { no } from '../errors.js';
import { readMessage } from '../message-reader.js';
import type { MessageFile, MessageInfo } from '../../engine/index.js';
import type { ImapSession } from '../session.js';
import { matches, needsBody, needsMessage, SearchParser, usesModseq, type SearchKey } from './search-keys.js';
import { selectedState } from './select.js';
import { ok, SELECTED, type CommandSpec } from './types.js';

const CHARSETS = new Set(['US-ASCII', 'UTF-8']);

export interface SearchHit {
  seq: number;
  uid: number;
  info: MessageInfo;
  /** The header block, or the whole message when the criteria needed the body; null when
   * neither criteria nor caller needed it. */
  msg: Buffer | null;
}

/**
 * The messages of the selected mailbox that match the criteria, in mailbox order. wantHeader:
 * load at least the header block for every hit (SORT and THREAD compare header fields).
 */
export async function collectMatches(session: ImapSession, key: SearchKey, wantHeader = false): Promise<SearchHit[]> {
  const s = selectedState(session);
  const view = s.selected;
  const uids = view.allUids;
  const maxUid = uids[uids.length - 1] ?? 0;
  const load = wantHeader || needsMessage(key);
  const headerOnly = !needsBody(key);
  const hits: SearchHit[] = [];
  const files = load ? s.mailboxes.readMessages(view.name, uids) : new Map<number, MessageFile>();
  for (let i = 0; i < uids.length; i++) {
    const u = uids[i]!;
    const info = view.message(u);
    if (!info || view.isGhost(u)) continue;
    let msg: Buffer | null = null;
    if (load) {
      const file = files.get(u);
      if (!file) continue; // expunged meanwhile
      try {
        msg = await readMessage(file.path, headerOnly, file.size);
      } catch {
        continue; // expunged meanwhile
      }
    }
    if (matches(key, { seq: i + 1, info, maxSeq: uids.length, maxUid, msg })) hits.push({ seq: i + 1, uid: u, info, msg });
  }
  return hits;
}

/** CHARSET argument of SEARCH, SORT, THREAD: US-ASCII and UTF-8 only. */
export function checkCharset(charset: string): void {
  if (!CHARSETS.has(charset.toUpperCase())) throw no(`Unsupported charset ${charset.toUpperCase()}`, 'BADCHARSET (US-ASCII UTF-8)');
}

export const searchCommand: CommandSpec = {
  name: 'SEARCH',
  states: SELECTED,
  uid: true,
  usesSeqs: true,
  async handle({ args, session, uid }) {
    const first = args.peek();
    if (first?.type === 'atom' && first.value.toUpperCase() === 'CHARSET') {
      args.next('CHARSET');
      checkCharset(args.astring('charset'));
    }
    const rest = [];
    while (args.remaining > 0) rest.push(args.next('search key'));
    const key = new SearchParser(rest).parseAll();
    const withModseq = usesModseq(key);
    if (withModseq) session.enableCondstore();
    const found = await collectMatches(session, key);
    const hits = found.map((h) => (uid ? h.uid : h.seq));
    const topModseq = Math.max(0, ...found.map((h) => h.info.modseq));
    // RFC 7162 3.1.5: with MODSEQ in the criteria, the highest MODSEQ of the matches follows.
    const suffix = withModseq && hits.length > 0 ? ` (MODSEQ ${topModseq})` : '';
    session.send(`* SEARCH${hits.length ? ' ' + hits.join(' ') : ''}${suffix}`);
    return ok(`${uid ? 'UID ' : ''}SEARCH completed`);
  },
};
