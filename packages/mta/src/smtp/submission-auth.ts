// AUTH and the sender check of the submission listeners. The password is checked with core's
// login policy (service smtp: directory bind, account state, mailAllowedServiceAccess); a
// proxy admin (relay.proxyAuth) may submit as any user with SASL PLAIN authzid = the user. The
// envelope sender must then be one of the user's addresses, so an account cannot send as
// another (relay.senderCheck).
import type { SMTPServerAuthentication, SMTPServerSession } from 'smtp-server';
import type { SmtpContext } from './context.js';
import { replies } from './replies.js';

/** The authenticated user ("uid@domain"), or throws the SMTP refusal. */
export async function handleAuth(ctx: SmtpContext, auth: SMTPServerAuthentication, session: SMTPServerSession): Promise<string> {
  const login = ctx.login;
  if (!login) throw replies.authFailed();
  if (!login.plaintextAllowed(session.remoteAddress, session.secure)) throw replies.encryptionRequired();
  const a = auth as SMTPServerAuthentication & { authcid?: string; authzid?: string };
  const authcid = a.authcid || a.username || '';
  const authzid = a.authzid && a.authzid !== authcid ? a.authzid : '';
  let r;
  try {
    r = await login.verify({
      service: 'smtp',
      authcid: qualify(authcid, ctx.defaultDomain),
      authzid: authzid ? qualify(authzid, ctx.defaultDomain) : '',
      password: a.password ?? '',
      remoteAddress: session.remoteAddress,
      secure: session.secure,
    });
  } catch (err) {
    ctx.logger.warn({ err, user: authcid, remote: session.remoteAddress }, 'submission AUTH: directory unavailable');
    throw replies.authUnavailable();
  }
  if (!r.ok) {
    // The reason goes to the log only; the client learns nothing about which part was wrong.
    ctx.logger.info({ user: authcid, authzid, remote: session.remoteAddress, reason: r.reason }, 'submission AUTH refused');
    throw replies.authFailed();
  }
  ctx.logger.debug({ user: r.user, proxiedBy: r.proxiedBy, remote: session.remoteAddress }, 'submission AUTH');
  return r.user;
}

function qualify(name: string, defaultDomain: string): string {
  return name.includes('@') ? name : `${name}@${defaultDomain}`;
}

/** MAIL FROM on submission: authenticated, and (with relay.senderCheck) the user's own address. */
export async function checkSubmissionSender(ctx: SmtpContext, address: string, session: SMTPServerSession): Promise<void> {
  const user = typeof session.user === 'string' ? session.user : undefined;
  if (!user) throw replies.authRequired();
  if (!ctx.senderCheck) return;
  let entry;
  try {
    entry = await ctx.directory.findLoginUser(user);
  } catch {
    throw replies.directoryUnavailable();
  }
  const own = [entry?.mail, ...(entry?.alternateAddresses ?? []), ...(entry?.equivalentAddresses ?? []), user]
    .filter((x): x is string => !!x)
    .map((x) => x.toLowerCase());
  if (!own.includes(address.toLowerCase())) throw replies.senderNotOwned(address, user);
}
