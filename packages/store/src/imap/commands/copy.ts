// COPY (RFC 3501 6.4.7) with COPYUID (UIDPLUS, RFC 4315), and MOVE (RFC 6851). The engine links
// each message again (same body, flags, INTERNALDATE) under a new UID of the destination.
// COPY is all or nothing: when it stops half way (quota), the copies made are expunged again.
// MOVE = COPY, then \Deleted and an expunge of exactly the moved UIDs, whose EXPUNGE responses
// go out at once (RFC 6851 3.3: the untagged OK with COPYUID comes first).
import { StoreError, type CopyResult } from '../../engine/index.js';
import { formatSequenceSet } from '../seqset.js';
import { ImapError, no } from '../errors.js';
import { resolveMailbox, type ResolvedMailbox } from '../shared.js';
import type { ImapSession } from '../session.js';
import { targetSeqs } from './fetch.js';
import { requireWritable, selectedState } from './select.js';
import { ok, SELECTED, type CommandContext, type CommandSpec, type HandlerResult } from './types.js';

function failure(result: CopyResult): never {
  switch (result.failure?.status) {
    case 'over-quota':
    case 'too-large':
      throw no('Quota exceeded', 'OVERQUOTA');
    case 'partition-full':
      throw no('Mail storage is full, try again later', 'UNAVAILABLE');
    default:
      throw no('Copy failed; nothing was copied', 'SERVERBUG');
  }
}

/** COPYUID's sets: source and destination UIDs in the same order (RFC 4315 3). */
function copyUid(result: CopyResult): string {
  // Copies run in source UID order and get ascending new UIDs, so both sorted sets pair up.
  return `COPYUID ${result.uidValidity} ${formatSequenceSet(result.copied.map(([src]) => src))} ${formatSequenceSet(result.copied.map(([, dst]) => dst))}`;
}

async function copyOrMove({ args, session, uid }: CommandContext, move: boolean): Promise<HandlerResult> {
  const setText = args.atom('sequence set');
  const dest = args.astring('mailbox name');
  args.end();
  const s = selectedState(session);
  const view = s.selected;
  const seqs = targetSeqs(view, setText, uid);
  if (move) requireWritable(s);
  const uids = seqs.map((n) => view.uidAt(n)).filter((u) => !view.isGhost(u));
  const verb = `${uid ? 'UID ' : ''}${move ? 'MOVE' : 'COPY'}`;
  let resolved: ResolvedMailbox;
  try {
    // The destination is the user's own or a shared one with the 'i' right.
    resolved = resolveMailbox(session, dest, 'i');
  } catch (err) {
    if (err instanceof ImapError && err.code === 'NONEXISTENT') throw no('Mailbox does not exist', 'TRYCREATE');
    if (err instanceof StoreError && err.kind === 'notFound') throw no('Mailbox does not exist', 'TRYCREATE');
    throw err;
  }
  const target = resolved.name;
  const toUser = resolved.owner;
  resolved.close();
  if (uids.length === 0) return ok(`${verb} completed`);
  const result = await session.opts.store.copyMessages(s.mailboxes.user, view.name, uids, target, toUser);
  if (!result.ok) {
    await undo(session, toUser, target, result);
    failure(result);
  }
  if (result.copied.length === 0) return ok(`${verb} completed`);
  if (!move) return ok(`${verb} completed`, copyUid(result));
  session.send(`* OK [${copyUid(result)}] Moved`);
  const moved = result.copied.map(([src]) => src);
  s.mailboxes.setFlags(view.name, moved, 'add', ['\\Deleted']);
  const gone = await s.mailboxes.expunge(view.name, moved);
  view.markExpunged(gone);
  for (const line of view.flushExpunges()) session.send(line);
  return ok(`${verb} completed`);
}

/** Takes back the copies of a failed COPY, so the client sees nothing happened. */
async function undo(session: ImapSession, user: string, target: string, result: CopyResult): Promise<void> {
  if (result.copied.length === 0) return;
  const mbx = session.opts.store.openUser(user, { create: false });
  try {
    const made = result.copied.map(([, d]) => d);
    mbx.setFlags(target, made, 'add', ['\\Deleted']);
    await mbx.expunge(target, made);
  } catch (err) {
    session.logger?.error({ err, user, target }, 'imap copy: could not remove a partial copy');
  } finally {
    mbx.close();
  }
}

export const copyCommand: CommandSpec = {
  name: 'COPY',
  states: SELECTED,
  uid: true,
  usesSeqs: true,
  handle: (ctx) => copyOrMove(ctx, false),
};

export const moveCommand: CommandSpec = {
  name: 'MOVE',
  states: SELECTED,
  uid: true,
  // MOVE sends EXPUNGE responses itself, also for MOVE by sequence number (RFC 6851 3.3).
  usesSeqs: true,
  handle: (ctx) => copyOrMove(ctx, true),
};
