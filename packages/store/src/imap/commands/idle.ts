// IDLE (RFC 2177): "+ idling", then untagged EXISTS / EXPUNGE / FETCH as other sessions and
// deliveries change the mailbox (the session hears of them through the store's change feed),
// until the client sends DONE.
import { bad } from '../errors.js';
import { AUTHENTICATED, ok, type CommandSpec } from './types.js';

export const idleCommand: CommandSpec = {
  name: 'IDLE',
  states: AUTHENTICATED,
  handle({ args, session }) {
    args.end();
    session.startIdle();
    return {
      continuation: 'idling',
      onLine: (line, tooLong) => {
        session.stopIdle();
        if (tooLong || line.toString('latin1').trim().toUpperCase() !== 'DONE') throw bad('Expected DONE to end IDLE');
        return ok('IDLE terminated');
      },
    };
  },
};
