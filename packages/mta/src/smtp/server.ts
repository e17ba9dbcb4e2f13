// The MX listener: smtp-server does the protocol (order, syntax, pipelining, SIZE, line
// limits); the handlers here only translate its callbacks into the relay's phases
// (rcpt-to.ts, data.ts) and their verdicts back into replies.
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { SmtpContext } from './context.js';
import { handleData } from './data.js';
import { installEnhancedCodePassThrough } from './enhanced-codes.js';
import { handleRcptTo } from './rcpt-to.js';
import { replies, SmtpReply } from './replies.js';

export interface SmtpListenOptions {
  host: string;
  port: number;
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
  const options: SMTPServerOptions = {
    name: ctx.hostname,
    banner: 'tiermail',
    hideENHANCEDSTATUSCODES: false,
    // Port 25 semantics: no AUTH, no STARTTLS until TLS is configured for the relay (next slice).
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    hideSTARTTLS: true,
    // RFC 3461: NOTIFY, ORCPT, RET and ENVID are kept in the envelope and acted on.
    hideDSN: false,
    size: ctx.maxMessageSize,
    maxRecipients: opts.maxRecipients,
    maxCommandLength: opts.maxLineLength,
    socketTimeout: opts.idleTimeoutMs,
    closeTimeout: opts.closeTimeoutMs,
    // Reverse DNS of every client costs a lookup per connection; the Received header carries
    // the IP address, which is what a trace needs.
    disableReverseLookup: true,
    logger: false,
    onMailFrom(_address, _session, cb) {
      if (closing) return cb(replies.shuttingDown());
      cb();
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
        (text) => cb(null, text),
        (err: unknown) => cb(asReply(err)),
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
