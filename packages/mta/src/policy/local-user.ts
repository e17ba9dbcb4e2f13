// Recipients in a domain of the directory: a known, active user or group is accepted with
// the deliveries it expands to; anything else in a local domain is refused here, because no
// later check could make an unknown local address deliverable.
import { expandRecipient } from '../routing/expand.js';
import { replies } from '../smtp/replies.js';
import type { RcptCheck } from './types.js';

/** Deep enough for real group nesting; a deeper chain is a directory mistake. */
const MAX_DEPTH = 10;
const MAX_ROUTES = 10000;

export const localUserCheck: RcptCheck = {
  name: 'local-user',
  async check(ctx, { directory, defaultDomain, logger }) {
    const domain = await directory.findDomain(ctx.domain);
    if (!domain) return { action: 'continue' };
    const ex = await expandRecipient(directory, ctx.address, { maxDepth: MAX_DEPTH, maxRoutes: MAX_ROUTES, defaultDomain, senders: ctx.senders });
    switch (ex.kind) {
      case 'unknown':
      case 'not-local':
        return { action: 'reject', reply: replies.noSuchUser(ctx.address) };
      case 'disabled':
        return { action: 'reject', reply: replies.disabled(ctx.address) };
      case 'forbidden':
        return { action: 'reject', reply: replies.notBroadcaster(ctx.address) };
      case 'routes':
        if (ex.skipped.length > 0) logger.warn({ rcpt: ctx.address, skipped: ex.skipped }, 'expansion skipped addresses');
        if (ex.routes.length === 0) return { action: 'reject', reply: replies.noMembers(ctx.address) };
        return { action: 'accept', routes: ex.routes };
    }
  },
};
