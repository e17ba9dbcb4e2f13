// STORE and UID STORE (RFC 3501 6.4.6): FLAGS, +FLAGS, -FLAGS, each with .SILENT, and the
// CONDSTORE UNCHANGEDSINCE modifier (RFC 7162) answered with MODIFIED. The engine
// changes the flags of the whole set in one transaction; the responses come from the view,
// which also carries flags other sessions changed.
import type { FlagMode } from '../../engine/index.js';
import { bad } from '../errors.js';
import { formatSequenceSet } from '../seqset.js';
import { parseFlag } from './args.js';
import { targetSeqs } from './fetch.js';
import { requireWritable, selectedState } from './select.js';
import { ok, SELECTED, type CommandSpec } from './types.js';

const ITEM = /^([+-]?)FLAGS(\.SILENT)?$/i;

export const storeCommand: CommandSpec = {
  name: 'STORE',
  states: SELECTED,
  uid: true,
  usesSeqs: true,
  handle({ args, session, uid }) {
    const setText = args.atom('sequence set');
    // CONDSTORE (RFC 7162 3.1.3): STORE set (UNCHANGEDSINCE modseq) item flags.
    let unchangedSince: number | undefined;
    if (args.peek()?.type === 'list') {
      const mods = args.list('STORE modifiers');
      const [key, value] = mods.map((a) => (a.type === 'atom' ? a.value : ''));
      if (mods.length !== 2 || key?.toUpperCase() !== 'UNCHANGEDSINCE' || !/^\d{1,19}$/.test(value ?? '')) throw bad('Invalid STORE modifier');
      unchangedSince = Number(value);
      session.enableCondstore();
    }
    const m = ITEM.exec(args.atom('STORE item'));
    if (!m) throw bad('Invalid STORE item (FLAGS, +FLAGS or -FLAGS, optionally .SILENT)');
    if (args.remaining === 0) throw bad('Missing flags');
    const flags: string[] = [];
    if (args.peek()?.type === 'list') flags.push(...args.list('flags').map(parseFlag));
    else while (args.remaining > 0) flags.push(parseFlag(args.next('flag')));
    args.end();
    const mode: FlagMode = m[1] === '+' ? 'add' : m[1] === '-' ? 'remove' : 'replace';
    const silent = m[2] !== undefined;
    const s = selectedState(session);
    const view = s.selected;
    const seqs = targetSeqs(view, setText, uid);
    requireWritable(s);
    const uids = seqs.map((n) => view.uidAt(n)).filter((u) => !view.isGhost(u));
    let modified: number[] = [];
    let updated = new Set<number>();
    if (uids.length > 0) {
      const res = s.mailboxes.setFlags(view.name, uids, mode, flags, unchangedSince === undefined ? {} : { unchangedSince });
      view.applyFlags(res.updated);
      modified = res.modified;
      updated = new Set(res.updated.map((x) => x.uid));
    }
    for (const u of uids) {
      if (!view.message(u) || modified.includes(u)) continue;
      // .SILENT still reports MODSEQ of what changed under UNCHANGEDSINCE (RFC 7162 3.1.3).
      if (silent && !(unchangedSince !== undefined && updated.has(u))) continue;
      session.send(view.flagsResponse(u, uid));
    }
    const verb = `${uid ? 'UID ' : ''}STORE completed`;
    if (modified.length === 0) return ok(verb);
    const shown = uid ? modified : modified.map((u) => view.seqOf(u));
    return ok(`Conditional ${verb}`, `MODIFIED ${formatSequenceSet(shown)}`);
  },
};
