// What every channel does with the answers of one delivery attempt: each recipient's answer
// decides its fate (2xx delivered, 4xx retried, 5xx failed), recipients past their last
// notice period are returned, the envelope is rewritten durably before mail.log is told, the
// notices owed are sent, and the message leaves the queue when nobody is pending any more.
import type { Logger } from '@tiermail/core';
import type { DsnNotifier } from '../dsn/notifier.js';
import { relayMetrics } from '../metrics.js';
import type { RelayMailLog } from '../log/mail-events.js';
import type { JobQueues } from '../queue/job-queues.js';
import type { Channel, SpoolRecipient } from '../queue/recipient.js';
import { RetryLater } from '../queue/retry-later.js';
import { retryDelayMs } from '../queue/retry.js';
import type { Envelope } from '../spool/envelope.js';
import type { KeyedLock } from '../spool/lock.js';
import type { Spool } from '../spool/spool.js';

export interface Answer {
  code: number;
  /** "250 2.0.0 Ok", as given. */
  text: string;
  /** Set when the next hop took the message but cannot pass DSN requests on (RFC 3461 5.2.2). */
  relayed?: boolean;
  /** 423 from a store: the mailbox is on this other store now; deliver there at once. */
  redirect?: string;
}

export interface DeliveryDeps {
  spool: Spool;
  locks: KeyedLock;
  mailLog: RelayMailLog;
  logger: Logger;
  notifier: DsnNotifier;
  /** For jobs of recipients redirected to another destination. */
  queues: Pick<JobQueues, 'enqueue'>;
  retrySeconds: Record<Channel, readonly number[]>;
}

export type DeliveryOutcome = { kind: 'gone' } | { kind: 'nothing-to-do' } | { kind: 'done'; delivered: number; failed: number };

export function temporary(text: string): Answer {
  return { code: 451, text };
}

/**
 * Runs `attempt` for the job's pending recipients under the message's lock and applies the
 * answers. `attempt` returns one answer per target, in order.
 */
export async function runDelivery(
  deps: DeliveryDeps,
  job: { id: string; channel: Channel; destination: string },
  attempt: (env: Envelope, targets: SpoolRecipient[]) => Promise<{ answers: Answer[]; remote: string }>,
): Promise<DeliveryOutcome> {
  return deps.locks.run(job.id, async () => {
    const env = await deps.spool.readEnvelope(job.id);
    if (!env) return { kind: 'gone' };
    if (env.held) return { kind: 'nothing-to-do' };
    const targets = env.recipients.filter((r) => r.status.state === 'pending' && r.channel === job.channel && r.destination === job.destination);
    if (targets.length === 0) {
      await settleAndFinish(deps, env);
      return { kind: 'nothing-to-do' };
    }
    const started = process.hrtime.bigint();
    const { answers, remote } = await attempt(env, targets);
    relayMetrics().attempt(job.channel, Number(process.hrtime.bigint() - started) / 1e9);
    return applyAnswers(deps, env, targets, answers, remote);
  });
}

/** Sends the notices owed and removes the message when nothing is pending. */
export async function settleAndFinish(deps: Pick<DeliveryDeps, 'spool' | 'notifier' | 'mailLog'>, env: Envelope, now = new Date()): Promise<void> {
  const expired = deps.notifier.expire(env, now);
  if (expired.length > 0) await deps.spool.writeEnvelope(env);
  for (const r of expired) deps.mailLog.returned(env, r, r.status.state === 'failed' ? r.status.answer : '');
  if (await deps.notifier.settle(env, now)) await deps.spool.writeEnvelope(env);
  if (!env.recipients.some((r) => r.status.state === 'pending')) await deps.spool.finish(env);
}

export async function applyAnswers(
  deps: DeliveryDeps,
  env: Envelope,
  targets: SpoolRecipient[],
  answers: Answer[],
  remote: string,
): Promise<DeliveryOutcome> {
  const now = new Date();
  let delivered = 0;
  let failed = 0;
  let soonest = Infinity;
  let redirected = 0;
  const destination = targets[0]?.destination;
  const events: Array<() => void> = [];
  targets.forEach((r, i) => {
    const a = answers[i] ?? temporary('451 4.4.0 no answer for this recipient');
    const attempts = r.status.attempts + 1;
    if (a.redirect && a.redirect !== r.destination) {
      // Moved: the same recipient, now due at its new store (attempts still count, so a
      // redirect loop between two stores ends in the normal expiry).
      events.push(() => deps.mailLog.deferred(env, r, a.text, remote));
      r.destination = a.redirect;
      r.status = { state: 'pending', attempts, nextTryAt: now.toISOString(), lastAnswer: a.text };
      redirected += 1;
    } else if (a.code >= 200 && a.code < 300) {
      // Final delivery (LMTP) or a next hop that cannot report it: the success DSN is ours to
      // send. A next hop that took NOTIFY on reports success itself.
      const dsn = r.channel === 'lmtp' || a.relayed ? deps.notifier.successDsn(env, r) : undefined;
      r.status = {
        state: 'delivered',
        attempts,
        at: now.toISOString(),
        answer: a.text,
        remote,
        ...(dsn ? { dsn } : {}),
        ...(a.relayed ? { action: 'relayed' as const } : {}),
      };
      delivered += 1;
      events.push(() => deps.mailLog.delivered(env, r, a.text, remote));
    } else if (a.code >= 500) {
      r.status = { state: 'failed', attempts, at: now.toISOString(), answer: a.text, dsn: deps.notifier.failureDsn(env, r), remote };
      failed += 1;
      events.push(() => deps.mailLog.returned(env, r, a.text, remote));
    } else {
      const delay = Math.min(retryDelayMs(deps.retrySeconds[r.channel], attempts), Math.max(1000, deps.notifier.expiresAt(env, r).getTime() - now.getTime()));
      soonest = Math.min(soonest, delay);
      r.status = { state: 'pending', attempts, nextTryAt: new Date(now.getTime() + delay).toISOString(), lastAnswer: a.text };
      events.push(() => deps.mailLog.deferred(env, r, a.text, remote));
    }
  });
  // Done with it (nobody pending, no notice owed): the message is removed without rewriting
  // its envelope first. If a crash undoes the removal, the message is delivered again and the
  // stores drop the repeat by its delivery id; nothing is lost and nothing doubled.
  const done = !env.recipients.some((r) => r.status.state === 'pending' || r.status.dsn === 'pending');
  if (done) {
    for (const e of events) e();
    await deps.spool.finish(env);
    return { kind: 'done', delivered, failed };
  }
  await deps.spool.writeEnvelope(env);
  for (const e of events) e();
  if (redirected > 0) {
    // If Redis is away the resync schedules it; the spool already says where it goes.
    await deps.queues.enqueue(env).catch((err: unknown) => deps.logger.warn({ err, queueId: env.id }, 'enqueue after a redirect failed; resync will retry'));
  }
  await settleAndFinish(deps, env, now);
  // Recipients deferred here (not redirected, not expired meanwhile) retry with this job.
  const waiting = targets.filter((r) => r.status.state === 'pending' && r.destination === destination);
  if (waiting.length > 0 && soonest !== Infinity) {
    throw new RetryLater(soonest, `${waiting.length} recipient(s) deferred: ${answers.find((a) => a.code >= 400 && a.code < 500)?.text ?? ''}`);
  }
  return { kind: 'done', delivered, failed };
}
