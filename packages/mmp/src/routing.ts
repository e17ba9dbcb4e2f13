// Routing at the MMP: where a user's store takes IMAP or POP3 (core's storeAddress, from the
// user's mailHost), and the domain of a bare user name per listening address.
import { storeAddress, type Config, type StoreAddress } from '@tiermail/core';

export { storeAddress, type StoreAddress };

/** A bare user name ("alice") gets the virtual domain of the address the client connected
 * to (mmp.virtualDomains), so one MMP can serve several domains on several addresses. */
export function qualifyUser(config: Config, user: string, localAddress: string | undefined): string {
  if (user.includes('@') || !localAddress) return user;
  const domain = config.mmp.virtualDomains[localAddress.replace(/^::ffff:/i, '')];
  return domain ? `${user}@${domain}` : user;
}

export function storeImapAddress(config: Config, mailHost: string): StoreAddress | null {
  return storeAddress(config, mailHost, 'imap');
}
