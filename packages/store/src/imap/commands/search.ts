// SEARCH and UID SEARCH (RFC 3501 6.4.4, 6.4.8). Keys that need the message read each body
// file once; flag, size, date and set keys work from the view alone.
import { no } from '../errors.js';
import { readMessage } from '../message-reader.js';
import { matches, needsBody, needsMessage, SearchParser, usesModseq } from './search-keys.js';
import { selectedState } from './select.js';
import { ok, SELECTED, type CommandSpec } from './types.js';

const CHARSETS = new Set(['US-ASCII', 'UTF-8']);

export const searchCommand: CommandSpec = {
  name: 'SEARCH',
  states: SELECTED,
  uid: true,
  usesSeqs: true,
  async handle({ args, session, uid }) {
    const first = args.peek();
    if (first?.type === 'atom' && first.value.toUpperCase() === 'CHARSET') {
      args.next('CHARSET');
      const charset = args.astring('charset').toUpperCase();
      if (!CHARSETS.has(charset)) throw no(`Unsupported charset ${charset}`, 'BADCHARSET (US-ASCII UTF-8)');
    }
    const rest = [];
    while (args.remaining > 0) rest.push(args.next('search key'));
    const key = new SearchParser(rest).parseAll();
    const s = selectedState(session);
    const view = s.selected;
    const uids = view.allUids;
    const maxUid = uids[uids.length - 1] ?? 0;
    const loadMessage = needsMessage(key);
    const headerOnly = !needsBody(key);
    const hits: number[] = [];
    const withModseq = usesModseq(key);
    if (withModseq) session.enableCondstore();
    let topModseq = 0;
    for (let i = 0; i < uids.length; i++) {
      const u = uids[i]!;
      const info = view.message(u);
      if (!info || view.isGhost(u)) continue;
      let msg: Buffer | null = null;
      if (loadMessage) {
        try {
          const file = s.mailboxes.readMessage(view.name, u);
          msg = await readMessage(file.path, headerOnly, file.size);
        } catch {
          continue; // expunged meanwhile
        }
      }
      if (matches(key, { seq: i + 1, info, maxSeq: uids.length, maxUid, msg })) {
        hits.push(uid ? u : i + 1);
        topModseq = Math.max(topModseq, info.modseq);
      }
    }
    // RFC 7162 3.1.5: with MODSEQ in the criteria, the highest MODSEQ of the matches follows.
    const suffix = withModseq && hits.length > 0 ? ` (MODSEQ ${topModseq})` : '';
    session.send(`* SEARCH${hits.length ? ' ' + hits.join(' ') : ''}${suffix}`);
    return ok(`${uid ? 'UID ' : ''}SEARCH completed`);
  },
};
