// RCPT TO: run the policy checks for the address and either remember its deliveries in the
// transaction or refuse it (with a J record in mail.log).
import type { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import { runRcptChecks } from '../policy/run.js';
import type { NotifyOn } from '../queue/recipient.js';
import { routeKey, type Route } from '../routing/route.js';
import { replies, type SmtpReply } from './replies.js';
import { transactionOf, type SmtpContext } from './context.js';

export async function handleRcptTo(ctx: SmtpContext, address: SMTPServerAddress, session: SMTPServerSession): Promise<SmtpReply | null> {
  const given = address.address;
  const rcpt = ctx.rewriteRecipients.rewrite(given);
  const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
  const reject = (reply: SmtpReply): SmtpReply => {
    ctx.mailLog.rejected({ from, rcpt: given, answer: reply.toString(), remote: session.remoteAddress });
    return reply;
  };
  const at = rcpt.lastIndexOf('@');
  // RFC 5321 4.5.1: postmaster without a domain must be accepted; it is the default domain's.
  const local = at < 0 ? rcpt : rcpt.slice(0, at);
  const domain = (at < 0 ? (local.toLowerCase() === 'postmaster' ? ctx.defaultDomain : '') : rcpt.slice(at + 1)).toLowerCase();
  if (local === '' || domain === '') return reject(replies.badAddress(rcpt));
  const verdict = await runRcptChecks(
    {
      address: at < 0 ? `${local}@${domain}` : rcpt,
      local,
      domain,
      clientAddress: session.remoteAddress,
      // An authenticated submitter may send anywhere, like a client in relay.trustedNetworks.
      trusted: typeof session.user === 'string' || ctx.trusted.has(session.remoteAddress),
      senders: [from, ctx.rewriteSenders.rewrite(from), ...(typeof session.user === 'string' ? [session.user] : [])],
    },
    { directory: ctx.directory, defaultDomain: ctx.defaultDomain, logger: ctx.logger },
    ctx.policyTimeoutMs,
  );
  if (verdict.action === 'reject') return reject(verdict.reply);
  const tx = transactionOf(session.envelope);
  const dsn = dsnOf(address);
  for (const r of verdict.routes) {
    const key = routeKey(r);
    // The address the client gave stays the original recipient, whatever the rewrite made of it.
    if (!tx.routes.has(key)) tx.routes.set(key, { ...r, ...(rcpt !== given ? { orcpt: given } : {}), ...dsn });
  }
  return null;
}

const NOTIFY_VALUES = new Set<NotifyOn>(['NEVER', 'SUCCESS', 'FAILURE', 'DELAY']);

/** RCPT NOTIFY= and ORCPT= as smtp-server parsed them (it has checked their syntax). */
function dsnOf(address: SMTPServerAddress): Pick<Route, 'notify' | 'orcptParam'> {
  const d = (address as SMTPServerAddress & { dsn?: { notify?: string[]; orcpt?: string } }).dsn;
  const notify = (d?.notify ?? []).map((n) => n.toUpperCase()).filter((n): n is NotifyOn => NOTIFY_VALUES.has(n as NotifyOn));
  return { ...(notify.length > 0 ? { notify } : {}), ...(d?.orcpt ? { orcptParam: d.orcpt } : {}) };
}
