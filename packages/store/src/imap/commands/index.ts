// The command table: name -> module. Which commands exist, in which states, and which may
// follow UID is data here, not branches in the session (Dovecot's imap-commands.c).
import { getQuotaCommand, getQuotaRootCommand, namespaceCommand, setQuotaCommand } from './account.js';
import { deleteAclCommand, getAclCommand, listRightsCommand, myRightsCommand, setAclCommand } from './acl.js';
import { appendCommand } from './append.js';
import { authenticateCommand, loginCommand, startTlsCommand } from './auth.js';
import { copyCommand, moveCommand } from './copy.js';
import { sortCommand, threadCommand } from './sort.js';
import { idleCommand } from './idle.js';
import { capabilityCommand, enableCommand, idCommand, logoutCommand, noopCommand } from './connection.js';
import { fetchCommand } from './fetch.js';
import { listCommand, lsubCommand } from './list.js';
import { createCommand, deleteCommand, renameCommand, statusCommand, subscribeCommand, unsubscribeCommand } from './mailboxes.js';
import { searchCommand } from './search.js';
import { checkCommand, closeCommand, examineCommand, expungeCommand, selectCommand, unselectCommand } from './select.js';
import { storeCommand } from './store.js';
import type { CommandSpec } from './types.js';

const ALL: CommandSpec[] = [
  capabilityCommand,
  noopCommand,
  logoutCommand,
  idCommand,
  enableCommand,
  loginCommand,
  authenticateCommand,
  startTlsCommand,
  selectCommand,
  examineCommand,
  createCommand,
  deleteCommand,
  renameCommand,
  subscribeCommand,
  unsubscribeCommand,
  listCommand,
  lsubCommand,
  statusCommand,
  appendCommand,
  checkCommand,
  closeCommand,
  unselectCommand,
  expungeCommand,
  fetchCommand,
  storeCommand,
  copyCommand,
  moveCommand,
  idleCommand,
  sortCommand,
  threadCommand,
  namespaceCommand,
  getQuotaRootCommand,
  getQuotaCommand,
  setQuotaCommand,
  getAclCommand,
  setAclCommand,
  deleteAclCommand,
  myRightsCommand,
  listRightsCommand,
  searchCommand,
];

export const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map(ALL.map((c) => [c.name, c]));

export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.get(name.toUpperCase());
}

export type { CommandSpec, CommandContext, HandlerResult, Continuation } from './types.js';
