// The login policy lives in core (the MMP applies the same one); re-exported for the store.
export { canonicalUser, DirectoryLogin, type DirectoryLoginOptions, type LoginPolicy, type LoginRefusal, type LoginRequest, type LoginResult, type LoginService } from '@tiermail/core';
