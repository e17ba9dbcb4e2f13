// The relay's SMTP listeners: the MX (no AUTH; STARTTLS when the host has a certificate) and
// submission (RFC 6409: AUTH required before MAIL, the sender must be the user's own address,
// then any recipient; STARTTLS or implicit TLS). smtp-server does the protocol (order, syntax,
// pipelining, SIZE, line limits); the handlers here only translate its callbacks into the
// relay's phases (submission-auth.ts, rcpt-to.ts, data.ts) and their verdicts into replies.
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { ListenerMode, SmtpContext } from './context.js';
import { handleData } from './data.js';
import { installEnhancedCodePassThrough } from './enhanced-codes.js';
import { handleRcptTo } from './rcpt-to.js';
import { checkSubmissionSender, handleAuth } from './submission-auth.js';
import { relayMetrics } from '../metrics.js';
import { replies, SmtpReply } from './replies.js';

export interface SmtpListenOptions {
  /** Listener name for metrics and logs (smtp, submission, submissions). */
  name: string;
  host: string;
  port: number;
  mode: ListenerMode;
  /** Certificate and key: STARTTLS offered (or, with implicitTls, TLS from the first byte). */
  tls?: { cert: Buffer; key: Buffer; minVersion?: string };
  implicitTls?: boolean;
  maxConnectionsPerIp: number;
  maxConnectionsPerWorker: number;
  maxRecipients: number;
  maxLineLength: number;
  idleTimeoutMs: number;
  /** How long close() lets transactions in progress finish before dropping them. */
  closeTimeoutMs: number;
}

export interface SmtpListener {
  port: number;
  close(): Promise<void>;
}

export async function startSmtpServer(ctx: SmtpContext, opts: SmtpListenOptions): Promise<SmtpListener> {
  installEnhancedCodePassThrough();
  let closing = false;
  const asReply = (err: unknown): SmtpReply => (err instanceof SmtpReply ? err : replies.localError());
  const submission = opts.mode === 'submission';
  if (opts.implicitTls && !opts.tls) throw new Error('implicit TLS needs tls.cert and tls.key');
  const perIp = new Map<string, number>();
  const metrics = relayMetrics();
  const counted = new Set<string>();
  const options: SMTPServerOptions = {
    name: ctx.hostname,
    banner: submission ? 'tiermail submission' : 'tiermail',
    hideENHANCEDSTATUSCODES: false,
    ...(opts.tls ? { key: opts.tls.key, cert: opts.tls.cert, secure: opts.implicitTls === true } : { hideSTARTTLS: true }),
    disabledCommands: [...(submission ? [] : ['AUTH']), ...(opts.tls ? [] : ['STARTTLS'])],
    authMethods: ['PLAIN', 'LOGIN'],
    // Required, but enforced at MAIL FROM so the refusal is our own 530 5.7.0.
    authOptional: true,
    // Whether a password may travel in clear is the login policy's call (onAuth: 538 5.7.11).
    allowInsecureAuth: true,
    // RFC 3461: NOTIFY, ORCPT, RET and ENVID are kept in the envelope and acted on.
    hideDSN: false,
    size: ctx.maxMessageSize,
    maxRecipients: opts.maxRecipients,
    maxCommandLength: opts.maxLineLength,
    maxClients: opts.maxConnectionsPerWorker,
    socketTimeout: opts.idleTimeoutMs,
    closeTimeout: opts.closeTimeoutMs,
    // Reverse DNS of every client costs a lookup per connection; the Received header carries
    // the IP address, which is what a trace needs.
    disableReverseLookup: true,
    logger: false,
    onConnect(session, cb) {
      const n = (perIp.get(session.remoteAddress) ?? 0) + 1;
      perIp.set(session.remoteAddress, n);
      if (n > opts.maxConnectionsPerIp) {
        ctx.logger.info({ remote: session.remoteAddress, open: n - 1 }, 'SMTP connection refused: per-address limit');
        metrics.connection(opts.name, 'refused');
        return cb(replies.tooManyConnections());
      }
      counted.add(session.id);
      metrics.connection(opts.name, 'open');
      cb();
    },
    onClose(session) {
      if (counted.delete(session.id)) metrics.connection(opts.name, 'close');
      const n = (perIp.get(session.remoteAddress) ?? 1) - 1;
      if (n <= 0) perIp.delete(session.remoteAddress);
      else perIp.set(session.remoteAddress, n);
    },
    onAuth(auth, session, cb) {
      handleAuth(ctx, auth, session).then(
        (user) => cb(null, { user }),
        (err: unknown) => cb(asReply(err)),
      );
    },
    onMailFrom(address, session, cb) {
      if (closing) return cb(replies.shuttingDown());
      if (!submission) return cb();
      checkSubmissionSender(ctx, address.address, session).then(
        () => cb(),
        (err: unknown) => cb(asReply(err)),
      );
    },
    onRcptTo(address, session, cb) {
      handleRcptTo(ctx, address, session).then(
        (reply) => cb(reply),
        (err: unknown) => {
          ctx.logger.error({ err }, 'RCPT handler failed');
          cb(asReply(err));
        },
      );
    },
    onData(stream, session, cb) {
      handleData(ctx, stream, session).then(
        (text) => {
          metrics.message(opts.name, 'accepted');
          cb(null, text);
        },
        (err: unknown) => {
          metrics.message(opts.name, 'refused');
          cb(asReply(err));
        },
      );
    },
  };
  const server = new SMTPServer(options);
  server.on('error', (err) => ctx.logger.warn({ err }, 'SMTP connection error'));
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    close() {
      closing = true;
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
