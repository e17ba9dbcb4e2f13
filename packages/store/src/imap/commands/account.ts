// What the account looks like: NAMESPACE (RFC 2342) and quotas (QUOTA, RFC 9208). One quota
// root, "", covers all of a user's mailboxes, as the store keeps one quota per user (from the
// directory's mailQuota / mailMsgQuota, passed along with deliveries). Quotas are set in the
// directory, so SETQUOTA is refused.
import { MAILBOX_SEPARATOR } from '../../mailbox-name.js';
import { encodeAstring, encodeString } from '../encode.js';
import { no } from '../errors.js';
import type { ImapSession } from '../session.js';
import { OTHER_USERS } from '../shared.js';
import { authState } from './mailboxes.js';
import { AUTHENTICATED, ok, type CommandSpec } from './types.js';

export const namespaceCommand: CommandSpec = {
  name: 'NAMESPACE',
  states: AUTHENTICATED,
  handle({ args, session }) {
    args.end();
    // Personal, and other users' mailboxes shared through ACLs; no public namespace.
    const sep = encodeString(MAILBOX_SEPARATOR);
    session.send(`* NAMESPACE (("" ${sep})) ((${encodeString(OTHER_USERS + MAILBOX_SEPARATOR)} ${sep})) NIL`);
    return ok('NAMESPACE completed');
  },
};

/** `* QUOTA "" (...)`: usage in KiB for STORAGE (RFC 9208 5.1), only resources with a limit. */
function quotaResponse(session: ImapSession): string {
  const q = authState(session).mailboxes.quota();
  const parts: string[] = [];
  if (q.limitBytes > 0) parts.push(`STORAGE ${Math.ceil(q.usedBytes / 1024)} ${Math.floor(q.limitBytes / 1024)}`);
  if (q.limitMessages > 0) parts.push(`MESSAGE ${q.usedMessages} ${q.limitMessages}`);
  return `* QUOTA "" (${parts.join(' ')})`;
}

export const getQuotaRootCommand: CommandSpec = {
  name: 'GETQUOTAROOT',
  states: AUTHENTICATED,
  handle({ args, session }) {
    const name = args.astring('mailbox name');
    args.end();
    const st = authState(session).mailboxes.status(name); // NO [NONEXISTENT] for a missing one
    session.send(`* QUOTAROOT ${encodeAstring(st.name)} ""`);
    session.send(quotaResponse(session));
    return ok('GETQUOTAROOT completed');
  },
};

export const getQuotaCommand: CommandSpec = {
  name: 'GETQUOTA',
  states: AUTHENTICATED,
  handle({ args, session }) {
    const root = args.astring('quota root');
    args.end();
    if (root !== '') throw no('No such quota root', 'NONEXISTENT');
    session.send(quotaResponse(session));
    return ok('GETQUOTA completed');
  },
};

export const setQuotaCommand: CommandSpec = {
  name: 'SETQUOTA',
  states: AUTHENTICATED,
  handle({ args }) {
    args.astring('quota root');
    args.list('resource limits');
    args.end();
    throw no('Quotas are set in the directory (mailQuota, mailMsgQuota)', 'NOPERM');
  },
};
