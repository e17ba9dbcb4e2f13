// What a command module declares (WildDuck's { state, schema, handler }, Dovecot's command
// table): its name, the states it is allowed in, whether UID may prefix it, whether it uses
// sequence numbers (then EXPUNGE responses must wait, RFC 3501 7.4.1), and its handler.
import type { Tagged } from '../errors.js';
import type { ImapSession } from '../session.js';
import type { StateName } from '../state.js';
import type { Args } from './args.js';

export interface CommandContext {
  readonly tag: string;
  /** As the client sent it, upper case, e.g. "UID FETCH". */
  readonly name: string;
  readonly uid: boolean;
  readonly args: Args;
  readonly session: ImapSession;
}

/** A handler that needs a line from the client (AUTHENTICATE): "+ prompt", then onLine. */
export interface Continuation {
  continuation: string;
  onLine(line: Buffer, tooLong: boolean): Promise<HandlerResult> | HandlerResult;
}

export type HandlerResult = Tagged | Continuation;

export interface CommandSpec {
  name: string;
  states: readonly StateName[];
  /** May follow "UID". */
  uid?: boolean;
  /** Refers to sequence numbers when not under UID: no EXPUNGE responses while it runs. */
  usesSeqs?: boolean;
  handle(ctx: CommandContext): Promise<HandlerResult> | HandlerResult;
}

export const ok = (text: string, code?: string): Tagged => ({ status: 'OK', text, ...(code ? { code } : {}) });

export const ANY: readonly StateName[] = ['not-authenticated', 'authenticated', 'selected'];
export const NOT_AUTHENTICATED: readonly StateName[] = ['not-authenticated'];
export const AUTHENTICATED: readonly StateName[] = ['authenticated', 'selected'];
export const SELECTED: readonly StateName[] = ['selected'];
