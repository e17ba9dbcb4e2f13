// One lmtp job: the pending recipients of one spooled message on one store, in one LMTP
// transaction. Each recipient's answer decides its fate (2xx delivered, 4xx retried, 5xx
// failed); the envelope is rewritten durably before mail.log is told, and the message leaves
// the queue when nobody is pending any more.
import { encodeXtext, type Config, type Directory, type Logger } from '@tiermail/core';
import type { RelayMailLog } from '../log/mail-events.js';
import type { JobData } from '../queue/names.js';
import type { SpoolRecipient } from '../queue/recipient.js';
import { RetryLater } from '../queue/retry-later.js';
import { retryDelayMs } from '../queue/retry.js';
import { lmtpAddressOf } from '../settings.js';
import type { Envelope } from '../spool/envelope.js';
import type { KeyedLock } from '../spool/lock.js';
import type { Spool } from '../spool/spool.js';
import { LmtpConnectionError, type LmtpReply } from './connection.js';
import type { LmtpPool } from './pool.js';

export interface LmtpDeliveryDeps {
  config: Config;
  spool: Spool;
  locks: KeyedLock;
  pool: LmtpPool;
  directory: Directory;
  mailLog: RelayMailLog;
  logger: Logger;
  retrySeconds: readonly number[];
}

export type DeliveryOutcome = { kind: 'gone' } | { kind: 'nothing-to-do' } | { kind: 'done'; delivered: number; failed: number };

/**
 * The quota may have changed since the message was accepted (an operator raised it for a user
 * whose mail is waiting on 452): ask the directory again, keep the spooled value if it is down.
 */
async function refreshQuota(dir: Directory, r: SpoolRecipient): Promise<void> {
  const at = r.to.lastIndexOf('@');
  try {
    const user = await dir.findUserByUid(r.to.slice(0, at), r.to.slice(at + 1));
    if (!user) return;
    r.quotaBytes = user.effectiveQuotaBytes ?? -1;
    r.quotaMessages = user.effectiveQuotaMessages ?? -1;
  } catch {
    // the spooled quota stands
  }
}

function temporary(text: string): LmtpReply {
  return { code: 451, text };
}

export async function deliverLmtpJob(deps: LmtpDeliveryDeps, job: JobData): Promise<DeliveryOutcome> {
  return deps.locks.run(job.id, async () => {
    const env = await deps.spool.readEnvelope(job.id);
    if (!env) return { kind: 'gone' };
    const targets = env.recipients.filter((r) => r.status.state === 'pending' && r.channel === 'lmtp' && r.destination === job.destination);
    if (targets.length === 0) {
      if (!env.recipients.some((r) => r.status.state === 'pending')) await deps.spool.finish(env);
      return { kind: 'nothing-to-do' };
    }
    await Promise.all(targets.map((r) => refreshQuota(deps.directory, r)));
    const addr = lmtpAddressOf(deps.config, job.destination);
    const remote = `${job.destination} [${addr.host}]:${addr.port}`;
    const transaction = {
      from: env.from,
      mailParams: [`SIZE=${env.size}`, ...(env.body === '8BITMIME' ? ['BODY=8BITMIME'] : [])],
      recipients: targets.map((r) => ({
        address: r.to,
        params: [`XQUOTA=${r.quotaBytes},${r.quotaMessages}`, `XDELIVERYID=${encodeXtext(`${env.id}.${r.index}`)}`],
      })),
      message: () => deps.spool.openMessageStream(env.id),
    };
    let answers: LmtpReply[];
    try {
      answers = await deps.pool.with(addr.host, addr.port, async (conn, fresh) => {
        try {
          return await conn.transaction(transaction);
        } catch (err) {
          // A pooled connection the store closed meanwhile: one more try on a new connection,
          // unless the data may have reached the store (then the retry schedule takes over,
          // and the delivery id keeps the store from storing it twice).
          if (fresh || !(err instanceof LmtpConnectionError) || err.afterData) throw err;
          conn.close();
          throw new StaleConnection();
        }
      });
    } catch (err) {
      if (err instanceof StaleConnection) {
        try {
          answers = await deps.pool.with(addr.host, addr.port, (conn) => conn.transaction(transaction));
        } catch (err2) {
          answers = targets.map(() => temporary(`451 4.4.1 ${(err2 as Error).message}`));
        }
      } else {
        answers = targets.map(() => temporary(`451 4.4.1 ${(err as Error).message}`));
      }
    }
    return applyAnswers(deps, env, targets, answers, remote);
  });
}

class StaleConnection extends Error {}

async function applyAnswers(
  deps: LmtpDeliveryDeps,
  env: Envelope,
  targets: SpoolRecipient[],
  answers: LmtpReply[],
  remote: string,
): Promise<DeliveryOutcome> {
  const now = new Date();
  let delivered = 0;
  let failed = 0;
  let soonest = Infinity;
  const events: Array<() => void> = [];
  targets.forEach((r, i) => {
    const a = answers[i] ?? temporary('451 4.4.0 no answer for this recipient');
    const attempts = r.status.attempts + 1;
    if (a.code >= 200 && a.code < 300) {
      r.status = { state: 'delivered', attempts, at: now.toISOString(), answer: a.text };
      delivered += 1;
      events.push(() => deps.mailLog.delivered(env, r, a.text, remote));
    } else if (a.code >= 500) {
      r.status = { state: 'failed', attempts, at: now.toISOString(), answer: a.text, dsn: env.from === '' ? 'none' : 'pending' };
      failed += 1;
      events.push(() => deps.mailLog.returned(env, r, a.text, remote));
    } else {
      // 4xx, 423 wrong-master included until redirects are built: try again later.
      const delay = retryDelayMs(deps.retrySeconds, attempts);
      soonest = Math.min(soonest, delay);
      r.status = { state: 'pending', attempts, nextTryAt: new Date(now.getTime() + delay).toISOString(), lastAnswer: a.text };
      events.push(() => deps.mailLog.deferred(env, r, a.text, remote));
    }
  });
  const stillPending = env.recipients.some((r) => r.status.state === 'pending');
  await deps.spool.writeEnvelope(env);
  for (const e of events) e();
  if (!stillPending) await deps.spool.finish(env);
  if (soonest !== Infinity) {
    throw new RetryLater(soonest, `${targets.length - delivered - failed} recipient(s) deferred: ${answers.find((a) => a.code >= 400 && a.code < 500)?.text ?? ''}`);
  }
  return { kind: 'done', delivered, failed };
}
