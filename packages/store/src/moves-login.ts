// The login policy of a store, with users being moved away refused: no new session may start
// on the old store once the move has locked the user (the session the move itself works
// through was opened before the lock), and none after it completed.
import type { LoginPolicy, LoginResult } from '@tiermail/core';
import type { MoveLookup } from './moves.js';

export function refuseMovedUsers(policy: LoginPolicy, moves: MoveLookup): LoginPolicy {
  return {
    plaintextAllowed: (remote, secure) => policy.plaintextAllowed(remote, secure),
    async verify(req): Promise<LoginResult> {
      const r = await policy.verify(req);
      if (!r.ok) return r;
      const move = moves.stateOf(r.user);
      if (!move) return r;
      return {
        ok: false,
        code: 'UNAVAILABLE',
        text: move.state === 'locked' ? 'Mailbox is being moved, try again in a moment' : 'Mailbox moved to another server; reconnect',
        reason: `${r.user} is ${move.state === 'locked' ? 'being moved' : 'moved'} to ${move.to}`,
      };
    },
  };
}
