// Selecting and leaving a mailbox (RFC 3501 6.3.1, 6.3.2, 6.4; UNSELECT RFC 3691) and the
// commands that only make sense on a selected one: CHECK, CLOSE, EXPUNGE, UID EXPUNGE
// (RFC 4315). Untagged EXPUNGE responses come from the view's refresh, which the session runs
// before every tagged reply, so they are numbered the way the client counts.
import { encodeFlagList } from '../encode.js';
import { bad, no } from '../errors.js';
import { SelectedMailbox } from '../selected.js';
import { parseSequenceSet, resolveUids } from '../seqset.js';
import type { ImapSession } from '../session.js';
import type { SelectedState } from '../state.js';
import { SYSTEM_FLAGS } from './args.js';
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

function select(ctx: CommandContext, readOnly: boolean): ReturnType<CommandSpec['handle']> {
  const { args, session } = ctx;
  const name = args.astring('mailbox name');
  args.end();
  // A failed SELECT leaves no mailbox selected (RFC 3501 6.3.1), so leave the old one first.
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
  const flags = [...SYSTEM_FLAGS, ...view.keywords()];
  session.send(`* FLAGS ${encodeFlagList(flags)}`);
  session.send(`* OK [PERMANENTFLAGS ${readOnly ? '()' : encodeFlagList([...flags, '\\*'])}] Flags permitted`);
  session.send(`* ${view.count} EXISTS`);
  session.send('* 0 RECENT');
  const firstUnseen = view.allUids.findIndex((uid) => !view.message(uid)?.flags.includes('\\Seen'));
  if (firstUnseen >= 0) session.send(`* OK [UNSEEN ${firstUnseen + 1}] First unseen`);
  session.send(`* OK [UIDVALIDITY ${view.uidValidity}] UIDs valid`);
  session.send(`* OK [UIDNEXT ${uidNext}] Predicted next UID`);
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
