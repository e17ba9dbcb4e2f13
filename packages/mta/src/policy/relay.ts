// Recipients in domains we do not host: only clients in relay.trustedNetworks may send there
// through the MX listener (everyone else would make us an open relay). Accepted mail waits
// on the smtp channel, which this release does not deliver yet (docs/relay.md).
import type { RcptCheck } from './types.js';

export const relayCheck: RcptCheck = {
  name: 'relay',
  async check(ctx) {
    if (!ctx.trusted) return { action: 'continue' };
    return {
      action: 'accept',
      routes: [{ orcpt: ctx.address, to: ctx.address, channel: 'smtp', destination: ctx.domain, quotaBytes: -1, quotaMessages: -1 }],
    };
  },
};
