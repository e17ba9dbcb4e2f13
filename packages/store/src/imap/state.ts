// The connection states of RFC 3501 section 3 as a discriminated union: the user's mailboxes
// exist only once authenticated, the selected mailbox only in Selected (as Stalwart models it).
import type { MessageStore, UserMailbox } from '../engine/index.js';
import type { SelectedMailbox } from './selected.js';

export type ImapState =
  | { kind: 'not-authenticated' }
  | { kind: 'authenticated'; user: string; mailboxes: UserMailbox }
  /** mailboxes: the store of the selected mailbox's owner (another user's for a shared one);
   * home: the user's own, which LIST, CREATE, APPEND ... keep using. */
  | { kind: 'selected'; user: string; mailboxes: UserMailbox; home: UserMailbox; selected: SelectedMailbox }
  | { kind: 'logout' };

export type StateName = ImapState['kind'];

export type AuthenticatedState = Extract<ImapState, { kind: 'authenticated' | 'selected' }>;
export type SelectedState = Extract<ImapState, { kind: 'selected' }>;

/** What the IMAP layer needs of the engine: a user's mailboxes and delivery (APPEND). */
export type ImapStore = Pick<MessageStore, 'openUser' | 'deliver' | 'copyMessages' | 'syncShares' | 'sharedWith'>;

/** Who may log in (access/login.ts): the directory in production. */
export type { LoginPolicy } from '../access/login.js';
