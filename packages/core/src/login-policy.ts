// Who may log in to IMAP and POP3, shared by the store's servers and the MMP. A login is a password
// checked by binding to the directory, then the account's state: inetUserStatus and
// mailUserStatus active, mailAllowedServiceAccess admitting the service from the client. A
// proxy login (SASL PLAIN with authzid = the user, authcid = a configured proxy admin) is how
// the MMP connects users to their store; it is accepted only from the MMPs' addresses.
// Rejects (throws) when the directory cannot answer: the client gets a temporary error, never
// a wrong-password reply.
import { isUserActive, serviceAccessAllows, ServiceAccessError, type Directory, type DirectoryUser } from './directory/index.js';
import { NetworkList } from './network-list.js';

export type LoginService = 'imap' | 'pop3' | 'smtp';

export interface LoginRequest {
  service: LoginService;
  /** The name given: LOGIN / USER, or the SASL authentication identity. */
  authcid: string;
  /** The SASL authorization identity; '' when none was given. */
  authzid: string;
  password: string;
  remoteAddress: string;
  /** The connection is encrypted (STARTTLS done, or implicit TLS). */
  secure: boolean;
}

/** RFC 5530 response codes; POP3 maps them to its own (RFC 3206). */
/** UNAVAILABLE: try again later (the mailbox is being moved, the store is draining). */
export type LoginRefusal = 'AUTHENTICATIONFAILED' | 'AUTHORIZATIONFAILED' | 'CONTACTADMIN' | 'PRIVACYREQUIRED' | 'UNAVAILABLE';

export type LoginResult =
  | { ok: true; /** Canonical "uid@domain", the store's mailbox key. */ user: string; /** The proxy admin, for a proxy login. */ proxiedBy?: string }
  | { ok: false; code: LoginRefusal; text: string; /** Log detail, never shown to the client. */ reason: string };

export interface LoginPolicy {
  /** May a password be sent on this connection? (LOGINDISABLED / POP3 USER refusal). */
  plaintextAllowed(remoteAddress: string, secure: boolean): boolean;
  verify(req: LoginRequest): Promise<LoginResult>;
}

export interface DirectoryLoginOptions {
  /** Passwords without TLS: never, from loopback clients, or from anyone (store.plaintextAuth). */
  plaintextAuth: 'never' | 'loopback' | 'always';
  proxyAdmins: readonly string[];
  proxyTrustedNetworks: readonly string[];
}

const LOOPBACK = new NetworkList(['127.0.0.0/8', '::1/128']);

export function canonicalUser(u: Pick<DirectoryUser, 'uid' | 'domain'>): string {
  return `${u.uid}@${u.domain}`;
}

function refuse(code: LoginRefusal, reason: string): LoginResult {
  const text =
    code === 'AUTHENTICATIONFAILED'
      ? 'Authentication failed'
      : code === 'AUTHORIZATIONFAILED'
        ? 'Not authorized to act as that user'
        : code === 'PRIVACYREQUIRED'
          ? 'Passwords only over an encrypted connection'
          : 'Account not available; contact your administrator';
  return { ok: false, code, text, reason };
}

export class DirectoryLogin implements LoginPolicy {
  private readonly trustedProxies: NetworkList;
  private readonly admins: Set<string>;

  constructor(
    private readonly directory: Pick<Directory, 'authenticate' | 'findLoginUser'>,
    private readonly opts: DirectoryLoginOptions,
  ) {
    this.trustedProxies = new NetworkList(opts.proxyTrustedNetworks);
    this.admins = new Set(opts.proxyAdmins.map((a) => a.toLowerCase()));
  }

  plaintextAllowed(remoteAddress: string, secure: boolean): boolean {
    if (secure || this.opts.plaintextAuth === 'always') return true;
    if (this.trustedProxies.has(remoteAddress)) return true;
    return this.opts.plaintextAuth === 'loopback' && LOOPBACK.has(remoteAddress);
  }

  async verify(req: LoginRequest): Promise<LoginResult> {
    if (!this.plaintextAllowed(req.remoteAddress, req.secure)) return refuse('PRIVACYREQUIRED', 'password over an unencrypted connection');
    if (req.authcid === '' || req.password === '') return refuse('AUTHENTICATIONFAILED', 'empty user name or password');
    const proxy = req.authzid !== '' && req.authzid.toLowerCase() !== req.authcid.toLowerCase();
    const authUser = await this.directory.authenticate(req.authcid, req.password);
    if (!authUser) return refuse('AUTHENTICATIONFAILED', `wrong password or unknown user ${req.authcid}`);
    if (!proxy) return this.admit(authUser, req);
    if (!this.isAdmin(authUser)) return refuse('AUTHORIZATIONFAILED', `${canonicalUser(authUser)} is not a proxy admin`);
    if (!this.trustedProxies.has(req.remoteAddress)) {
      return refuse('AUTHORIZATIONFAILED', `proxy login from ${req.remoteAddress}, not in store.proxyAuth.trustedNetworks`);
    }
    const user = await this.directory.findLoginUser(req.authzid);
    if (!user) return refuse('AUTHENTICATIONFAILED', `proxy login for unknown user ${req.authzid}`);
    const result = this.admit(user, req);
    return result.ok ? { ...result, proxiedBy: canonicalUser(authUser) } : result;
  }

  private isAdmin(u: DirectoryUser): boolean {
    const names = [u.uid, canonicalUser(u), u.mail ?? ''].map((n) => n.toLowerCase());
    return names.some((n) => n !== '' && this.admins.has(n));
  }

  private admit(user: DirectoryUser, req: LoginRequest): LoginResult {
    if (!isUserActive(user)) return refuse('CONTACTADMIN', `${canonicalUser(user)} is not active`);
    let allowed: boolean;
    try {
      allowed = serviceAccessAllows(user.allowedServiceAccess, req.service, req.remoteAddress);
    } catch (err) {
      if (!(err instanceof ServiceAccessError)) throw err;
      return refuse('CONTACTADMIN', err.message);
    }
    if (!allowed) return refuse('CONTACTADMIN', `${req.service} not allowed for ${canonicalUser(user)} from ${req.remoteAddress}`);
    return { ok: true, user: canonicalUser(user) };
  }
}
