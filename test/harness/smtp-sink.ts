// A remote mail server for relay tests: smtp-server on a loopback port that records every
// message it accepts and answers RCPT and DATA as the test scripts it (451 twice then 250, 550
// for one address, ...). With `tls`, it offers STARTTLS with the harness's test certificate;
// with `lmtp` it speaks LMTP, standing in for a store that answers 423 for a moved mailbox.
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';
import { freePort } from './ports.js';
import { testCert } from './tls.js';

export interface SinkMessage {
  from: string;
  to: string[];
  /** RCPT parameters as the sink saw them (NOTIFY, ORCPT). */
  rcptDsn: Array<{ notify?: string[]; orcpt?: string } | undefined>;
  data: string;
  secure: boolean;
  ehlo: string;
}

/** An answer as "451 4.3.0 try later", or null to accept. */
export type SinkScript = (stage: 'rcpt' | 'data', address: string) => string | null;

export interface SmtpSink {
  port: number;
  messages: SinkMessage[];
  /** Sessions that connected (whether or not they sent anything). */
  connections: number;
  script: SinkScript;
  stop(): Promise<void>;
}

function replyError(answer: string): Error & { responseCode: number } {
  const code = Number(answer.slice(0, 3));
  return Object.assign(new Error(answer.slice(4)), { responseCode: code });
}

export async function startSmtpSink(
  opts: { tls?: boolean; hideDsn?: boolean; host?: string; port?: number; script?: SinkScript; /** Speak LMTP (a store in the middle of a move). */ lmtp?: boolean } = {},
): Promise<SmtpSink> {
  const sink: SmtpSink = {
    port: 0,
    messages: [],
    connections: 0,
    script: opts.script ?? (() => null),
    stop: async () => undefined,
  };
  const tls = opts.tls ? testCert().options : {};
  const server = new SMTPServer({
    ...tls,
    name: opts.lmtp ? 'store.example.test' : 'mx.remote.example',
    lmtp: opts.lmtp ?? false,
    authOptional: true,
    disabledCommands: opts.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    hideDSN: opts.hideDsn ?? false,
    logger: false,
    onConnect(_s, cb) {
      sink.connections += 1;
      cb();
    },
    onRcptTo(address: SMTPServerAddress, _session: SMTPServerSession, cb) {
      const a = sink.script('rcpt', address.address);
      cb(a ? replyError(a) : undefined);
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const to = session.envelope.rcptTo.map((r) => r.address);
        const a = sink.script('data', to.join(','));
        if (a) return cb(replyError(a));
        sink.messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to,
          rcptDsn: session.envelope.rcptTo.map((r) => (r as SMTPServerAddress & { dsn?: { notify?: string[]; orcpt?: string } }).dsn),
          data: Buffer.concat(chunks).toString('latin1'),
          secure: session.secure,
          ehlo: session.hostNameAppearsAs,
        });
        cb(null, '2.0.0 Ok: queued by the test sink');
      });
    },
  });
  server.on('error', () => undefined);
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(host));
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  sink.port = (server.server.address() as AddressInfo).port;
  sink.stop = () => new Promise((resolve) => server.close(() => resolve()));
  return sink;
}
