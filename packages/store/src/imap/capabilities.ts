// The capability list: exactly what this server does, per state. Anything listed here has a
// test in test/store/imap*.test.ts (docs/conformance.md maps them).
import type { StateName } from './state.js';

const ALWAYS = ['IMAP4rev1', 'LITERAL+', 'SASL-IR', 'ID', 'ENABLE'];
const AFTER_LOGIN = ['UNSELECT', 'UIDPLUS', 'CHILDREN', 'SPECIAL-USE'];

export function capabilities(state: StateName): string[] {
  return state === 'not-authenticated' ? [...ALWAYS, 'AUTH=PLAIN'] : [...ALWAYS, ...AFTER_LOGIN];
}
