// Selecting and leaving a mailbox (RFC 3501 6.3.1, 6.3.2, 6.4; UNSELECT RFC 3691) and the
// commands that only make sense on a selected one: CHECK, CLOSE, EXPUNGE, UID EXPUNGE
// (RFC 4315). Untagged EXPUNGE responses come from the view's refresh, which the session runs
// before every tagged reply, so they are numbered the way the client counts.
import { encodeFlagList } from '../encode.js';
import { bad, no } from '../errors.js';
import { SelectedMailbox } from '../selected.js';
import { formatSequenceSet, parseSequenceSet, resolveUids, seqSetContains, type SequenceSet } from '../seqset.js';
import type { ImapSession } from '../session.js';
import type { SelectedState } from '../state.js';
import type { UserMailbox } from '../../engine/index.js';
import { SYSTEM_FLAGS, type Args } from './args.js';
import { resolveMailbox } from '../shared.js';
import { authState } from './mailboxes.js';
import { AUTHENTICATED, ok, SELECTED, type CommandContext, type CommandSpec } from './types.js';

export function selectedState(session: ImapSession): SelectedState {
  const s = session.state;
  if (s.kind !== 'selected') throw bad('No mailbox selected');
  return s;
}

export function requireWritable(s: SelectedState): void {
  if (s.selected.readOnly) throw no('Mailbox is read-only', 'READ-ONLY');
}

function deselect(session: ImapSession): void {
  selectedState(session);
  session.leaveSelected();
}

interface QresyncParams {
  uidValidity: number;
  modseq: number;
  knownUids: SequenceSet | null;
}

/** SELECT/EXAMINE parameters (RFC 7162): (CONDSTORE) or (QRESYNC (uidvalidity modseq [uids])). */
function parseSelectParams(args: Args, session: ImapSession): { condstore: boolean; qresync: QresyncParams | null } {
  const out: { condstore: boolean; qresync: QresyncParams | null } = { condstore: false, qresync: null };
  if (args.remaining === 0) return out;
  const items = args.list('select parameters');
  for (let i = 0; i < items.length; i++) {
    const a = items[i]!;
    const name = a.type === 'atom' ? a.value.toUpperCase() : '';
    if (name === 'CONDSTORE') out.condstore = true;
    else if (name === 'QRESYNC') {
      if (!session.qresync) throw bad('QRESYNC must be enabled first (ENABLE QRESYNC)');
      const p = items[++i];
      if (p?.type !== 'list' || p.items.length < 2) throw bad('QRESYNC needs (uidvalidity modseq [known-uids])');
      const [uv, ms, known] = p.items.map((x) => (x.type === 'atom' ? x.value : ''));
      if (!/^[1-9]\d{0,9}$/.test(uv ?? '') || !/^\d{1,19}$/.test(ms ?? '')) throw bad('Invalid QRESYNC parameters');
      const knownUids = known ? parseSequenceSet(known) : null;
      if (known && !knownUids) throw bad('Invalid known UIDs');
      out.qresync = { uidValidity: Number(uv), modseq: Number(ms), knownUids };
      out.condstore = true;
    } else throw bad(`Unknown SELECT parameter ${name || '?'}`);
  }
  return out;
}

/** QRESYNC resynchronisation (RFC 7162 3.2.5.1): what vanished and what changed since. */
function resync(session: ImapSession, mailboxes: UserMailbox, view: SelectedMailbox, q: QresyncParams): void {
  if (q.uidValidity !== view.uidValidity) return; // the client starts over: nothing to add
  const inKnown = (uid: number): boolean => !q.knownUids || seqSetContains(q.knownUids, uid, Number.MAX_SAFE_INTEGER);
  const vanished = mailboxes.expungedSince(view.name, q.modseq).filter(inKnown);
  if (vanished.length > 0) session.send(`* VANISHED (EARLIER) ${formatSequenceSet(vanished)}`);
  for (const m of mailboxes.messages(view.name, { changedSinceModseq: q.modseq })) {
    if (view.seqOf(m.uid) > 0) session.send(view.flagsResponse(m.uid));
  }
}

function select(ctx: CommandContext, readOnly: boolean): ReturnType<CommandSpec['handle']> {
  const { args, session } = ctx;
  const name = args.astring('mailbox name');
  const params = parseSelectParams(args, session);
  args.end();
  if (params.condstore) session.enableCondstore();
  // A failed SELECT leaves no mailbox selected (RFC 3501 6.3.1), so leave the old one first.
  if (session.state.kind === 'selected' && session.qresync) session.send('* OK [CLOSED] Previous mailbox closed');
  session.leaveSelected();
  const { user, mailboxes: home } = authState(session);
  const target = resolveMailbox(session, name, 'r');
  let opened: { view: SelectedMailbox; uidNext: number };
  try {
    // Another user's mailbox is read-write only with every right a read-write session uses.
    opened = SelectedMailbox.open(target.mailboxes, target.name, readOnly || !['s', 'w', 't', 'e'].every((r) => target.rights.includes(r)));
  } catch (err) {
    target.close();
    throw err;
  }
  const { view, uidNext } = opened;
  readOnly = view.readOnly;
  view.condstore = session.condstore;
  view.qresync = session.qresync;
  const flags = [...SYSTEM_FLAGS, ...view.keywords()];
  session.send(`* FLAGS ${encodeFlagList(flags)}`);
  session.send(`* OK [PERMANENTFLAGS ${readOnly ? '()' : encodeFlagList([...flags, '\\*'])}] Flags permitted`);
  session.send(`* ${view.count} EXISTS`);
  session.send('* 0 RECENT');
  const firstUnseen = view.allUids.findIndex((uid) => !view.message(uid)?.flags.includes('\\Seen'));
  if (firstUnseen >= 0) session.send(`* OK [UNSEEN ${firstUnseen + 1}] First unseen`);
  session.send(`* OK [UIDVALIDITY ${view.uidValidity}] UIDs valid`);
  session.send(`* OK [UIDNEXT ${uidNext}] Predicted next UID`);
  if (view.condstore) session.send(`* OK [HIGHESTMODSEQ ${view.highestModseq}] Highest`);
  if (params.qresync) resync(session, target.mailboxes, view, params.qresync);
  session.state = { kind: 'selected', user, mailboxes: target.mailboxes, home, selected: view };
  if (target.owner !== user) session.watchShared(target.owner);
  return ok(`${ctx.name} completed`, readOnly ? 'READ-ONLY' : 'READ-WRITE');
}

export const selectCommand: CommandSpec = { name: 'SELECT', states: AUTHENTICATED, handle: (ctx) => select(ctx, false) };
export const examineCommand: CommandSpec = { name: 'EXAMINE', states: AUTHENTICATED, handle: (ctx) => select(ctx, true) };

export const checkCommand: CommandSpec = {
  name: 'CHECK',
  states: SELECTED,
  handle({ args }) {
    args.end();
    // Every change is durable when its command completes: nothing to checkpoint.
    return ok('CHECK completed');
  },
};

export const closeCommand: CommandSpec = {
  name: 'CLOSE',
  states: SELECTED,
  async handle({ args, session }) {
    args.end();
    const s = selectedState(session);
    // CLOSE expunges silently (no untagged EXPUNGE), and never in a read-only mailbox.
    if (!s.selected.readOnly) await s.mailboxes.expunge(s.selected.name);
    deselect(session);
    return ok('CLOSE completed');
  },
};

export const unselectCommand: CommandSpec = {
  name: 'UNSELECT',
  states: SELECTED,
  handle({ args, session }) {
    args.end();
    deselect(session);
    return ok('UNSELECT completed');
  },
};

export const expungeCommand: CommandSpec = {
  name: 'EXPUNGE',
  states: SELECTED,
  uid: true,
  async handle({ args, session, uid }) {
    let uids: number[] | undefined;
    const s = selectedState(session);
    if (uid) {
      const set = parseSequenceSet(args.atom('UID set'));
      if (!set) throw bad('Invalid UID set');
      uids = resolveUids(set, s.selected.allUids);
    }
    args.end();
    requireWritable(s);
    if (uids && uids.length === 0) return ok('EXPUNGE completed');
    const gone = await s.mailboxes.expunge(s.selected.name, uids);
    s.selected.markExpunged(gone);
    return ok('EXPUNGE completed');
  },
};
