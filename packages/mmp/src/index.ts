// The MMP tier: the IMAP proxy that logs users in and splices them to their store.
export { startMmpService, type MmpService } from './service.js';
export { storeImapAddress, type StoreAddress } from './routing.js';
export { PreAuth, type PreAuthAction } from './imap/preauth.js';
