// Message submission (RFC 6409) at the MMP: smtp-server speaks SMTP; AUTH PLAIN/LOGIN is
// checked with the login policy (service smtp), nothing is accepted without it, MAIL FROM must
// be one of the user's own addresses, Message-ID and Date are added when missing, and a
// Received header names the authenticated user. The message then goes to the relays in order
// (they trust the MMPs by address: relay.trustedNetworks); the relay's answer is the client's.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { Config, Directory, LoginPolicy, Logger } from '@tiermail/core';
import { qualifyUser } from '../routing.js';

export interface SubmissionContext {
  config: Config;
  directory: Pick<Directory, 'findLoginUser'>;
  login: LoginPolicy;
  tls?: { cert: Buffer; key: Buffer };
  hostname: string;
  logger?: Logger;
}

/** An SMTP reply as smtp-server wants it (code and enhanced status in the text). */
function reply(code: number, text: string): Error & { responseCode: number } {
  return Object.assign(new Error(text), { responseCode: code });
}

async function readAll(stream: NodeJS.ReadableStream, max: number): Promise<Buffer | null> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = chunk as Buffer;
    size += b.length;
    if (size <= max) parts.push(b);
  }
  return size > max ? null : Buffer.concat(parts);
}

function prepare(msg: Buffer, ctx: SubmissionContext, user: string, client: string): Buffer {
  const end = msg.indexOf('\r\n\r\n');
  const header = (end >= 0 ? msg.subarray(0, end) : msg).toString('latin1');
  const add: string[] = [
    `Received: from [${client}] by ${ctx.hostname} (tiermail MMP) with ESMTPSA (authenticated as ${user}); ${new Date().toUTCString().replace('GMT', '+0000')}`,
  ];
  if (!/^message-id:/im.test(header)) add.push(`Message-ID: <${randomBytes(12).toString('hex')}@${ctx.hostname}>`);
  if (!/^date:/im.test(header)) add.push(`Date: ${new Date().toUTCString().replace('GMT', '+0000')}`);
  return Buffer.concat([Buffer.from(`${add.join('\r\n')}\r\n`, 'latin1'), msg]);
}

/**
 * nodemailer options for AUTH PLAIN as the proxy admin on behalf of `user` (authzid): the
 * relay then applies the user's own rules (sender addresses, service access) to the message.
 */
function proxyAuth(config: Config, user: string): Record<string, unknown> {
  const { user: admin, password } = config.mmp.proxyAdmin;
  const token = Buffer.from(`${user}\0${admin}\0${password}`).toString('base64');
  return {
    auth: { type: 'custom', method: 'PLAIN', user: admin },
    customAuth: {
      PLAIN: async (c: { sendCommand(cmd: string): Promise<{ status: number; text: string }>; resolve(): void; reject(e: Error): void }) => {
        const r = await c.sendCommand(`AUTH PLAIN ${token}`);
        if (r.status >= 200 && r.status < 300) c.resolve();
        else c.reject(Object.assign(new Error(r.text), { responseCode: r.status, response: r.text }));
      },
    },
  };
}

export async function startSubmissionServer(ctx: SubmissionContext, host: string, port: number, implicitTls = false): Promise<{ port: number; close(): Promise<void> }> {
  if (implicitTls && !ctx.tls) throw new Error('implicit TLS submission needs tls.cert and tls.key');
  const maxSize = ctx.config.limits.maxMessageSize;
  const options: SMTPServerOptions = {
    name: ctx.hostname,
    banner: 'tiermail MMP submission',
    authMethods: ['PLAIN', 'LOGIN'],
    // Enforced at MAIL FROM (onMailFrom), so the refusal carries our own 530 5.7.0 text.
    authOptional: true,
    // RFC 6409 / 4954: no password before TLS unless the policy allows plain text here.
    allowInsecureAuth: true,
    ...(ctx.tls ? { key: ctx.tls.key, cert: ctx.tls.cert, secure: implicitTls } : { disabledCommands: ['STARTTLS'], hideSTARTTLS: true }),
    size: maxSize,
    disableReverseLookup: true,
    logger: false,
    onAuth(auth, session, cb) {
      const remote = session.remoteAddress;
      if (!ctx.login.plaintextAllowed(remote, session.secure)) return cb(reply(538, '5.7.11 Encryption required for requested authentication mechanism'));
      ctx.login
        .verify({ service: 'smtp', authcid: qualifyUser(ctx.config, auth.username ?? '', session.localAddress), authzid: '', password: auth.password ?? '', remoteAddress: remote, secure: session.secure })
        .then(
          (r) => {
            if (!r.ok) {
              ctx.logger?.info({ user: auth.username, remote, reason: r.reason }, 'mmp submission login failed');
              return cb(reply(535, '5.7.8 Authentication credentials invalid'));
            }
            cb(null, { user: r.user });
          },
          () => cb(reply(454, '4.7.0 Temporary authentication failure')),
        );
    },
    onMailFrom(address, session, cb) {
      const user = session.user as string | undefined;
      if (!user) return cb(reply(530, '5.7.0 Authentication required'));
      ctx.directory.findLoginUser(user).then(
        (entry) => {
          const own = [entry?.mail, ...(entry?.alternateAddresses ?? []), ...(entry?.equivalentAddresses ?? []), user]
            .filter((a): a is string => !!a)
            .map((a) => a.toLowerCase());
          if (!own.includes(address.address.toLowerCase())) return cb(reply(553, `5.7.1 <${address.address}>: Sender address not owned by ${user}`));
          cb();
        },
        () => cb(reply(451, '4.4.3 Directory unavailable, try again later')),
      );
    },
    onData(stream, session, cb) {
      readAll(stream, maxSize).then(async (msg) => {
        if (!msg) return cb(reply(552, '5.3.4 Message too big'));
        const user = session.user as string;
        const data = prepare(msg, ctx, user, session.remoteAddress);
        const envelope = { from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address) };
        let lastError = '';
        for (const relay of ctx.config.mmp.relays) {
          const transport = nodemailer.createTransport({
            host: relay.host,
            port: relay.port,
            secure: false,
            ignoreTLS: true,
            name: ctx.hostname,
            connectionTimeout: ctx.config.mmp.connectTimeoutMs,
            ...(ctx.config.mmp.relayAuth ? proxyAuth(ctx.config, user) : {}),
          });
          try {
            const info = await transport.sendMail({ envelope, raw: data });
            ctx.logger?.info({ user, relay: `${relay.host}:${relay.port}`, response: info.response }, 'mmp submission relayed');
            return cb(null, info.response.replace(/^250[ -]/, ''));
          } catch (err) {
            const e = err as { responseCode?: number; response?: string; message: string; code?: string };
            if (e.code === 'EAUTH') {
              // Our own credentials at the relay, not the user's message: another relay may take it.
              ctx.logger?.error({ relay: `${relay.host}:${relay.port}`, err: e.response ?? e.message }, 'mmp submission: the relay refused the proxy admin AUTH (mmp.proxyAdmin, relay.proxyAuth)');
              lastError = e.response ?? e.message;
              continue;
            }
            // A relay that answered with a permanent refusal speaks for the message: no retry.
            if (e.responseCode && e.responseCode >= 500) return cb(reply(e.responseCode, (e.response ?? e.message).replace(/^\d{3}[ -]/, '')));
            lastError = e.response ?? e.message;
          } finally {
            transport.close();
          }
        }
        ctx.logger?.warn({ user, err: lastError }, 'mmp submission: no relay accepted the message');
        cb(reply(451, '4.4.1 No relay available, try again later'));
      }, (err: unknown) => cb(reply(451, `4.3.0 ${(err as Error).message}`)));
    },
  };
  const server = new SMTPServer(options);
  server.on('error', (err) => ctx.logger?.debug({ err }, 'submission connection error'));
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
