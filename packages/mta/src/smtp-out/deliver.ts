// One smtp job: the pending recipients of one spooled message in one remote domain, in one
// SMTP transaction. The hosts of the domain (mx.ts) are tried in order while they cannot be
// reached or refuse the session; once a host answers the transaction, its answers stand.
// Extensions are used as the server offers them: SIZE, 8BITMIME, SMTPUTF8, DSN, PIPELINING,
// and STARTTLS as relay.channels.smtp.startTls says.
import { encodeXtext } from '@tiermail/core';
import { ClientConnectionError, type ClientConnection, type ClientTransaction } from '../client/connection.js';
import type { ConnectionPool, PoolTarget } from '../client/pool.js';
import { runDelivery, temporary, type Answer, type DeliveryDeps, type DeliveryOutcome } from '../delivery/apply.js';
import type { JobData } from '../queue/names.js';
import type { SpoolRecipient } from '../queue/recipient.js';
import type { Envelope } from '../spool/envelope.js';
import type { MxHost, MxResolver } from './mx.js';

export interface SmtpDeliveryDeps extends DeliveryDeps {
  pool: ConnectionPool;
  mx: MxResolver;
  startTls: 'none' | 'opportunistic' | 'required';
}

const NON_ASCII = /[^\x00-\x7f]/;

/** The transaction for this server, with the parameters its EHLO answer allows. */
export function transactionFor(conn: Pick<ClientConnection, 'capabilities'>, env: Envelope, targets: SpoolRecipient[], message: ClientTransaction['message']): ClientTransaction | Answer {
  const caps = conn.capabilities;
  const needsUtf8 = NON_ASCII.test(env.from) || targets.some((r) => NON_ASCII.test(r.to));
  if (needsUtf8 && !caps.has('SMTPUTF8')) {
    return { code: 553, text: '553 5.6.7 the receiving server does not support SMTPUTF8, needed for these addresses' };
  }
  const dsn = caps.has('DSN');
  const mailParams = [
    ...(caps.has('SIZE') ? [`SIZE=${env.size}`] : []),
    ...(env.body === '8BITMIME' && caps.has('8BITMIME') ? ['BODY=8BITMIME'] : []),
    ...(needsUtf8 ? ['SMTPUTF8'] : []),
    ...(dsn && env.dsn?.ret ? [`RET=${env.dsn.ret}`] : []),
    ...(dsn && env.dsn?.envid ? [`ENVID=${encodeXtext(env.dsn.envid)}`] : []),
  ];
  return {
    from: env.from,
    mailParams,
    recipients: targets.map((r) => ({
      address: r.to,
      params: dsn
        ? [...(r.notify ? [`NOTIFY=${r.notify.join(',')}`] : []), `ORCPT=${orcptOf(r)}`]
        : [],
    })),
    message,
  };
}

/** ORCPT as RFC 3461 wants it on the wire: "type;" and the address xtext-encoded. */
function orcptOf(r: SpoolRecipient): string {
  const given = r.orcptParam ?? `rfc822;${r.orcpt}`;
  const semi = given.indexOf(';');
  return `${given.slice(0, semi)};${encodeXtext(given.slice(semi + 1))}`;
}

function describe(h: MxHost): string {
  return `${h.name} [${h.address}]:${h.port}`;
}

async function attemptHost(deps: SmtpDeliveryDeps, h: MxHost, env: Envelope, targets: SpoolRecipient[]): Promise<Answer[]> {
  const send = async (startTls: SmtpDeliveryDeps['startTls']): Promise<Answer[]> => {
    const target: PoolTarget = { host: h.address, port: h.port, startTls, serverName: h.name };
    return deps.pool.run(target, async (conn) => {
      const tx = transactionFor(conn, env, targets, () => deps.spool.openMessageStream(env.id));
      if (!('from' in tx)) return targets.map(() => tx);
      const answers = await conn.transaction(tx);
      // A server without DSN cannot pass NOTIFY=SUCCESS on: the sender hears "relayed" from us.
      const relayed = !conn.capabilities.has('DSN');
      return answers.map((a) => (relayed && a.code < 300 ? { ...a, relayed: true } : a));
    });
  };
  try {
    return await send(deps.startTls);
  } catch (err) {
    // Opportunistic TLS that fails its handshake is retried in clear, as RFC 7435 intends.
    if (deps.startTls === 'opportunistic' && err instanceof ClientConnectionError && /TLS handshake/.test(err.message)) return send('none');
    throw err;
  }
}

export async function deliverSmtpJob(deps: SmtpDeliveryDeps, job: JobData): Promise<DeliveryOutcome> {
  return runDelivery(deps, job, async (env, targets) => {
    const found = await deps.mx.resolve(job.destination);
    if (found.kind === 'fail') return { answers: targets.map(() => found.answer), remote: job.destination };
    let last: Answer = temporary(`451 4.4.1 no host of ${job.destination} could be tried`);
    let lastRemote = job.destination;
    for (const h of found.hosts) {
      lastRemote = describe(h);
      try {
        return { answers: await attemptHost(deps, h, env, targets), remote: lastRemote };
      } catch (err) {
        const e = err instanceof ClientConnectionError ? err : new ClientConnectionError((err as Error).message);
        // After DATA the message may have arrived: no second host, the schedule retries it.
        if (e.afterData) return { answers: targets.map(() => temporary(`451 4.4.2 ${lastRemote}: ${e.message}`)), remote: lastRemote };
        const said = e.reply ? ` said: ${e.reply.text}` : `: ${e.message}`;
        last = temporary(`451 4.4.1 ${lastRemote}${said}`);
        deps.logger.debug({ queueId: env.id, host: lastRemote, err: e.message }, 'MX host failed; trying the next');
      }
    }
    return { answers: targets.map(() => last), remote: lastRemote };
  });
}
