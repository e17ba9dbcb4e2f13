// The relay's SMTP listeners from config: the MX (relay.smtp), submission with STARTTLS
// (relay.submission) and submission with implicit TLS (relay.submissions), sharing one context.
import { DirectoryLogin, tlsMaterial, type Config } from '@tiermail/core';
import { AddressRewriter } from '../routing/rewrite.js';
import type { ListenerMode, SmtpContext } from './context.js';
import { startSmtpServer, type SmtpListener } from './server.js';

export interface NamedListener extends SmtpListener {
  name: 'smtp' | 'submission' | 'submissions';
}

export async function startSmtpListeners(
  ctx: Omit<SmtpContext, 'login' | 'senderCheck' | 'rewriteRecipients' | 'rewriteSenders'>,
  config: Config,
  overrides: { port?: number } = {},
): Promise<NamedListener[]> {
  const relay = config.relay;
  const tls = tlsMaterial(config);
  const login = new DirectoryLogin(ctx.directory, {
    plaintextAuth: relay.plaintextAuth,
    proxyAdmins: relay.proxyAuth.admins,
    proxyTrustedNetworks: relay.proxyAuth.trustedNetworks,
  });
  const full: SmtpContext = {
    ...ctx,
    login,
    senderCheck: relay.senderCheck,
    rewriteRecipients: new AddressRewriter(relay.rewrite.recipients),
    rewriteSenders: new AddressRewriter(relay.rewrite.senders),
  };
  const common = {
    maxRecipients: relay.maxRecipients,
    maxLineLength: config.limits.maxLineLength,
    idleTimeoutMs: relay.idleTimeoutMs,
    closeTimeoutMs: 30000,
    maxConnectionsPerIp: relay.maxConnectionsPerIp,
    maxConnectionsPerWorker: relay.maxConnectionsPerWorker,
    ...(tls ? { tls } : {}),
  };
  const wanted: Array<{ name: NamedListener['name']; mode: ListenerMode; host: string; port: number; implicitTls?: boolean }> = [
    { name: 'smtp', mode: 'mx', host: relay.smtp.host, port: overrides.port ?? relay.smtp.port },
  ];
  if (relay.submission) wanted.push({ name: 'submission', mode: 'submission', ...relay.submission });
  if (relay.submissions) {
    if (!tls) throw new Error('relay.submissions (implicit TLS) needs tls.cert and tls.key');
    wanted.push({ name: 'submissions', mode: 'submission', ...relay.submissions, implicitTls: true });
  }
  const started: NamedListener[] = [];
  try {
    for (const w of wanted) {
      const l = await startSmtpServer(full, { ...common, name: w.name, host: w.host, port: w.port, mode: w.mode, implicitTls: w.implicitTls ?? false });
      started.push({ ...l, name: w.name });
      ctx.logger.info({ listener: w.name, port: l.port, starttls: tls !== undefined && !w.implicitTls }, 'relay SMTP listening');
    }
  } catch (err) {
    await Promise.all(started.map((l) => l.close()));
    throw err;
  }
  return started;
}
