// Commands valid in any state (RFC 3501 6.1) and the session-level extensions: CAPABILITY,
// NOOP, LOGOUT, ID (RFC 2971), ENABLE (RFC 5161).
import { encodeNString, encodeString, statusLine } from '../encode.js';
import { bad } from '../errors.js';
import { argText } from './args.js';
import { ANY, ok, type CommandSpec } from './types.js';

export const capabilityCommand: CommandSpec = {
  name: 'CAPABILITY',
  states: ANY,
  handle({ args, session }) {
    args.end();
    session.send(`* CAPABILITY ${session.capabilities().join(' ')}`);
    return ok('CAPABILITY completed');
  },
};

/** NOOP does nothing itself: the session sends pending updates before every tagged reply. */
export const noopCommand: CommandSpec = {
  name: 'NOOP',
  states: ANY,
  handle({ args }) {
    args.end();
    return ok('NOOP completed');
  },
};

export const logoutCommand: CommandSpec = {
  name: 'LOGOUT',
  states: ANY,
  handle({ args, session }) {
    args.end();
    session.send(statusLine('*', 'BYE', 'Logging out'));
    session.logout();
    return ok('LOGOUT completed');
  },
};

const ID_MAX_PAIRS = 30;

export const idCommand: CommandSpec = {
  name: 'ID',
  states: ANY,
  handle({ args, session }) {
    const a = args.next('ID parameters');
    args.end();
    const clientId: Record<string, string | null> = {};
    if (a.type === 'list') {
      // RFC 2971 3.3: at most 30 pairs, fields up to 30 bytes and values up to 1024.
      if (a.items.length % 2 !== 0 || a.items.length > ID_MAX_PAIRS * 2) throw bad('Invalid ID parameters');
      for (let i = 0; i < a.items.length; i += 2) {
        const field = a.items[i]!;
        const value = a.items[i + 1]!;
        if (field.type !== 'quoted' && field.type !== 'literal') throw bad('ID field must be a string');
        const key = argText(field)!;
        const v = value.type === 'nil' ? null : value.type === 'quoted' || value.type === 'literal' ? argText(value) : undefined;
        if (v === undefined || key.length > 30 || (v !== null && v.length > 1024)) throw bad('Invalid ID parameters');
        clientId[key] = v;
      }
    } else if (a.type !== 'nil') {
      throw bad('ID expects a list or NIL');
    }
    session.logger?.info({ clientId }, 'imap client id');
    const server = session.opts.serverId ?? { name: 'tiermail', vendor: 'tiermail' };
    const fields = Object.entries(server).flatMap(([k, v]) => [encodeString(k), encodeNString(v)]);
    session.send(`* ID ${fields.length ? `(${fields.join(' ')})` : 'NIL'}`);
    return ok('ID completed');
  },
};

/** What ENABLE can turn on; QRESYNC implies CONDSTORE (RFC 7162 3.2.3). */
const ENABLEABLE = new Set(['CONDSTORE', 'QRESYNC']);

/** RFC 5161: ENABLED lists what this command newly enabled; unknown names are ignored. */
export const enableCommand: CommandSpec = {
  name: 'ENABLE',
  // RFC 5161 3.1: valid in the authenticated state only, not once a mailbox is selected.
  states: ['authenticated'],
  handle({ args, session }) {
    if (args.remaining === 0) throw bad('ENABLE needs at least one capability');
    const newly: string[] = [];
    while (args.remaining > 0) {
      const name = args.atom('capability').toUpperCase();
      if (!ENABLEABLE.has(name) || session.enabled.has(name)) continue;
      session.enabled.add(name);
      newly.push(name);
      if (name === 'QRESYNC' && !session.enabled.has('CONDSTORE')) {
        session.enabled.add('CONDSTORE');
        newly.push('CONDSTORE');
      }
    }
    session.send(`* ENABLED${newly.map((n) => ` ${n}`).join('')}`);
    return ok('ENABLE completed');
  },
};
