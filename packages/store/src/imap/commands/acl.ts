// ACL (RFC 4314): GETACL, SETACL, DELETEACL, MYRIGHTS, LISTRIGHTS. Rights are stored per
// mailbox by the engine; changing them needs the 'a' right (the owner always has it) and
// refreshes the store's share index so the grantee's LIST sees the mailbox at once. Identifiers
// are users ("bob" means bob in the owner's domain) or "anyone"; negative rights ("-bob") are
// not supported and refused.
import { encodeAstring } from '../encode.js';
import { bad, no } from '../errors.js';
import type { ImapSession } from '../session.js';
import { ALL_RIGHTS, ANYONE, resolveMailbox, type ResolvedMailbox } from '../shared.js';
import { AUTHENTICATED, ok, type CommandSpec } from './types.js';

/** A user name as the ACL stores it: canonical uid@domain, bare names in the owner's domain. */
function identifierOf(raw: string, owner: string): string {
  if (raw.toLowerCase() === ANYONE) return ANYONE;
  if (raw.startsWith('-')) throw no('Negative rights are not supported', 'CANNOT');
  if (!/^[^\s"\\/]{1,255}$/.test(raw)) throw bad('Invalid identifier');
  const at = raw.lastIndexOf('@');
  if (at < 0) return `${raw}@${owner.slice(owner.lastIndexOf('@') + 1)}`;
  return raw.slice(0, at) + '@' + raw.slice(at + 1).toLowerCase();
}

/** Rights text: the RFC 4314 letters; the obsolete c and d map to k+x and e+t (RFC 4314 2.1.1). */
function parseRights(text: string): { mode: 'set' | 'add' | 'remove'; rights: string } {
  const mode = text.startsWith('+') ? 'add' : text.startsWith('-') ? 'remove' : 'set';
  let body = mode === 'set' ? text : text.slice(1);
  body = body.replace(/c/g, 'kx').replace(/d/g, 'et');
  if (!/^[a-z0-9]*$/.test(body)) throw bad('Invalid rights');
  const unknown = [...body].find((r) => !ALL_RIGHTS.includes(r));
  if (unknown) throw bad(`Unknown right ${unknown}`);
  return { mode, rights: body };
}

async function withMailbox<T>(session: ImapSession, name: string, right: string, run: (m: ResolvedMailbox) => T): Promise<T> {
  const target = resolveMailbox(session, name, right);
  try {
    return run(target);
  } finally {
    target.close();
  }
}

function aclLine(m: ResolvedMailbox, clientName: string): string {
  const entries = [`${encodeAstring(m.owner)} ${ALL_RIGHTS}`, ...m.mailboxes.getAcl(m.name).map((e) => `${encodeAstring(e.identifier)} ${e.rights}`)];
  return `* ACL ${encodeAstring(clientName)} ${entries.join(' ')}`;
}

export const getAclCommand: CommandSpec = {
  name: 'GETACL',
  states: AUTHENTICATED,
  async handle({ args, session }) {
    const name = args.astring('mailbox name');
    args.end();
    await withMailbox(session, name, 'a', (m) => session.send(aclLine(m, name)));
    return ok('GETACL completed');
  },
};

export const setAclCommand: CommandSpec = {
  name: 'SETACL',
  states: AUTHENTICATED,
  async handle({ args, session }) {
    const name = args.astring('mailbox name');
    const rawId = args.astring('identifier');
    const { mode, rights } = parseRights(args.astring('rights'));
    args.end();
    await withMailbox(session, name, 'a', (m) => {
      const id = identifierOf(rawId, m.owner);
      if (id === m.owner) throw no('The owner always has every right', 'CANNOT');
      const current = m.mailboxes.getAcl(m.name).find((e) => e.identifier === id)?.rights ?? '';
      const next = mode === 'set' ? rights : mode === 'add' ? current + rights : [...current].filter((r) => !rights.includes(r)).join('');
      m.mailboxes.setAcl(m.name, id, next);
      session.opts.store.syncShares(m.owner);
    });
    return ok('SETACL completed');
  },
};

export const deleteAclCommand: CommandSpec = {
  name: 'DELETEACL',
  states: AUTHENTICATED,
  async handle({ args, session }) {
    const name = args.astring('mailbox name');
    const rawId = args.astring('identifier');
    args.end();
    await withMailbox(session, name, 'a', (m) => {
      m.mailboxes.deleteAcl(m.name, identifierOf(rawId, m.owner));
      session.opts.store.syncShares(m.owner);
    });
    return ok('DELETEACL completed');
  },
};

export const myRightsCommand: CommandSpec = {
  name: 'MYRIGHTS',
  states: AUTHENTICATED,
  async handle({ args, session }) {
    const name = args.astring('mailbox name');
    args.end();
    await withMailbox(session, name, 'l', (m) => session.send(`* MYRIGHTS ${encodeAstring(name)} ${m.rights}`));
    return ok('MYRIGHTS completed');
  },
};

export const listRightsCommand: CommandSpec = {
  name: 'LISTRIGHTS',
  states: AUTHENTICATED,
  async handle({ args, session }) {
    const name = args.astring('mailbox name');
    const rawId = args.astring('identifier');
    args.end();
    await withMailbox(session, name, 'a', (m) => {
      const id = identifierOf(rawId, m.owner);
      // The owner's rights are fixed; anyone else may be given each right on its own.
      const text = id === m.owner ? `${ALL_RIGHTS}` : `"" ${[...ALL_RIGHTS].join(' ')}`;
      session.send(`* LISTRIGHTS ${encodeAstring(name)} ${encodeAstring(id)} ${text}`);
    });
    return ok('LISTRIGHTS completed');
  },
};
