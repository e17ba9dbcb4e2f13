// Routes for mail the relay writes itself (DSNs and delay notices): the address is expanded as
// an RCPT would be (a local user to their store, a group to its members, anything else to the
// smtp channel), but nothing is refused: an address that leads nowhere gives no route.
import type { Directory } from '@tiermail/core';
import { expandRecipient } from './expand.js';
import type { Route } from './route.js';

export async function routeAddress(dir: Directory, address: string, defaultDomain: string): Promise<Route[]> {
  const ex = await expandRecipient(dir, address, { maxDepth: 10, maxRoutes: 1000, defaultDomain });
  switch (ex.kind) {
    case 'routes':
      return ex.routes;
    case 'not-local': {
      const at = address.lastIndexOf('@');
      const domain = address.slice(at + 1).toLowerCase();
      return [{ orcpt: address, to: address, channel: 'smtp', destination: domain, quotaBytes: -1, quotaMessages: -1 }];
    }
    default:
      return [];
  }
}
