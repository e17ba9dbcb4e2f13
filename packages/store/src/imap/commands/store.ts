// STORE and UID STORE (RFC 3501 6.4.6): FLAGS, +FLAGS, -FLAGS, each with .SILENT. The engine
// changes the flags of the whole set in one transaction; the responses come from the view,
// which also carries flags other sessions changed.
import type { FlagMode } from '../../engine/index.js';
import { encodeFlagList } from '../encode.js';
import { bad } from '../errors.js';
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
    if (uids.length > 0) {
      const res = s.mailboxes.setFlags(view.name, uids, mode, flags);
      view.applyFlags(res.updated);
    }
    if (!silent) {
      for (const u of uids) {
        const info = view.message(u);
        if (!info) continue;
        session.send(`* ${view.seqOf(u)} FETCH (${uid ? `UID ${u} ` : ''}FLAGS ${encodeFlagList(info.flags)})`);
      }
    }
    return ok(`${uid ? 'UID ' : ''}STORE completed`);
  },
};
