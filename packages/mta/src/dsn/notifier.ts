// Decides which notices a spooled message owes its sender and sends them as messages of their
// own: failure DSNs (a recipient failed, or expired after the last notice period), delay
// notices (after each notice period but the last), success DSNs (NOTIFY=SUCCESS). A notice is
// marked sent only after it is durable in the spool, so a crash can repeat one, never lose it.
import type { Directory, Logger } from '@tiermail/core';
import type { RelayMailLog } from '../log/mail-events.js';
import type { RelayMetrics } from '../metrics.js';
import type { JobQueues } from '../queue/job-queues.js';
import { wantsNotice, type Channel, type SpoolRecipient } from '../queue/recipient.js';
import { routeAddress } from '../routing/route-address.js';
import { ENVELOPE_VERSION, type Envelope } from '../spool/envelope.js';
import { newSpoolId } from '../spool/ids.js';
import type { Spool } from '../spool/spool.js';
import { buildDsn, statusOf, type DsnKind, type DsnRecipient } from './report.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface NotifierDeps {
  spool: Spool;
  directory: Directory;
  queues: JobQueues;
  mailLog: RelayMailLog;
  logger: Logger;
  hostname: string;
  defaultDomain: string;
  noticesDays: Record<Channel, readonly number[]>;
  /** A returned message larger than this comes back as its header only. */
  maxReturnBytes: number;
  metrics?: RelayMetrics;
}

/** Remote-MTA of a mail.log remote "name [addr]:port". */
function remoteName(remote: string | undefined): string | undefined {
  return remote ? remote.split(' ')[0] : undefined;
}

export class DsnNotifier {
  constructor(private readonly deps: NotifierDeps) {}

  private ageMs(env: Envelope, now: Date): number {
    return now.getTime() - Date.parse(env.receivedAt);
  }

  /** When a pending recipient is given up: the arrival plus the last notice period of its channel. */
  expiresAt(env: Envelope, r: SpoolRecipient): Date {
    const days = this.deps.noticesDays[r.channel];
    return new Date(Date.parse(env.receivedAt) + (days[days.length - 1] ?? 7) * DAY_MS);
  }

  /**
   * Fails the pending recipients whose time is up (5.4.7, as the seeds' return job does), so
   * the failure DSN goes out. Returns them for mail.log.
   */
  expire(env: Envelope, now: Date): SpoolRecipient[] {
    const out: SpoolRecipient[] = [];
    for (const r of env.recipients) {
      if (r.status.state !== 'pending' || now < this.expiresAt(env, r)) continue;
      const last = r.status.lastAnswer ? `; last answer: ${r.status.lastAnswer}` : '';
      const days = this.deps.noticesDays[r.channel];
      r.status = {
        state: 'failed',
        attempts: r.status.attempts,
        at: now.toISOString(),
        answer: `554 5.4.7 delivery time expired after ${days[days.length - 1]} days${last}`,
        dsn: this.failureDsn(env, r),
      };
      out.push(r);
    }
    return out;
  }

  /** The DSN state a recipient failing now starts with. */
  failureDsn(env: Envelope, r: SpoolRecipient): 'pending' | 'none' {
    return env.from === '' || !wantsNotice(r, 'FAILURE') ? 'none' : 'pending';
  }

  successDsn(env: Envelope, r: SpoolRecipient): 'pending' | undefined {
    return env.from !== '' && wantsNotice(r, 'SUCCESS') ? 'pending' : undefined;
  }

  /** How many delay notices are due by now: one per notice period passed, the last excepted. */
  private delayNoticesDue(env: Envelope, now: Date): number {
    let due = 0;
    const age = this.ageMs(env, now);
    for (const r of env.recipients) {
      if (r.status.state !== 'pending') continue;
      const days = this.deps.noticesDays[r.channel];
      due = Math.max(due, days.slice(0, -1).filter((d) => age >= d * DAY_MS).length);
    }
    return due;
  }

  /**
   * Sends whatever the envelope owes (the caller holds its lock and writes it afterwards when
   * this returns true). A notice that cannot be sent now (directory down) stays owed.
   */
  async settle(env: Envelope, now = new Date()): Promise<boolean> {
    let changed = false;
    const failed = env.recipients.filter((r) => r.status.state === 'failed' && r.status.dsn === 'pending');
    if (failed.length > 0 && (await this.send(env, 'failure', failed, now))) {
      for (const r of failed) if (r.status.state === 'failed') r.status.dsn = 'sent';
      changed = true;
    }
    const succeeded = env.recipients.filter((r) => r.status.state === 'delivered' && r.status.dsn === 'pending');
    if (succeeded.length > 0 && (await this.send(env, 'success', succeeded, now))) {
      for (const r of succeeded) if (r.status.state === 'delivered') r.status.dsn = 'sent';
      changed = true;
    }
    const due = this.delayNoticesDue(env, now);
    if (due > (env.delayNotices ?? 0)) {
      const waiting = env.from === '' ? [] : env.recipients.filter((r) => r.status.state === 'pending' && wantsNotice(r, 'DELAY'));
      if (waiting.length === 0 || (await this.send(env, 'delay', waiting, now))) {
        for (const r of waiting) this.deps.mailLog.delayNotice(env, r, r.status.state === 'pending' ? (r.status.lastAnswer ?? 'not delivered yet') : '');
        env.delayNotices = due;
        changed = true;
      }
    }
    return changed;
  }

  private reportOf(env: Envelope, r: SpoolRecipient, kind: DsnKind): DsnRecipient {
    const base = { finalRecipient: r.to, originalRecipient: r.orcptParam ?? r.orcpt };
    const s = r.status;
    if (s.state === 'pending') {
      return {
        ...base,
        action: 'delayed',
        status: s.lastAnswer ? statusOf(s.lastAnswer).replace(/^5/, '4') : '4.0.0',
        ...(s.lastAnswer ? { diagnostic: s.lastAnswer } : {}),
        willRetryUntil: this.expiresAt(env, r),
      };
    }
    const action = s.state === 'failed' ? 'failed' : (s.action ?? 'delivered');
    const remote = remoteName(s.remote);
    return {
      ...base,
      action,
      status: kind === 'failure' ? statusOf(s.answer).replace(/^[24]/, '5') : '2.0.0',
      diagnostic: s.answer,
      lastAttempt: new Date(s.at),
      ...(remote ? { remoteMta: remote } : {}),
    };
  }

  private async send(env: Envelope, kind: DsnKind, recipients: SpoolRecipient[], now: Date): Promise<boolean> {
    const { spool, directory, logger } = this.deps;
    try {
      const routes = await routeAddress(directory, env.from, this.deps.defaultDomain);
      if (routes.length === 0) {
        // The sender's address leads nowhere (a local user deleted since): nobody to tell.
        logger.warn({ queueId: env.id, from: env.from, kind }, 'DSN not sent: the sender address has no route');
        return true;
      }
      const original = await spool.readMessageHead(env.id, this.deps.maxReturnBytes).catch(() => ({ data: Buffer.alloc(0), complete: false }));
      const dsn = buildDsn({
        kind,
        reportingMta: this.deps.hostname,
        queueId: env.id,
        ...(env.dsn?.envid ? { envid: env.dsn.envid } : {}),
        arrivalDate: new Date(env.receivedAt),
        to: env.from,
        recipients: recipients.map((r) => this.reportOf(env, r, kind)),
        original: original.data,
        originalComplete: original.complete,
        ret: kind === 'success' ? 'HDRS' : (env.dsn?.ret ?? 'FULL'),
        now,
      });
      const id = newSpoolId(now.getTime());
      const at = now.toISOString();
      const notice: Envelope = {
        version: ENVELOPE_VERSION,
        id,
        receivedAt: at,
        from: '',
        size: dsn.content.length,
        messageId: dsn.messageId,
        body: dsn.eightBit ? '8BITMIME' : null,
        client: { address: 'internal', helo: this.deps.hostname, hostname: this.deps.hostname },
        recipients: routes.map((r, index) => ({ ...r, index, status: { state: 'pending', attempts: 0, nextTryAt: at, lastAnswer: null } })),
      };
      await spool.inject(notice, dsn.content);
      for (const r of notice.recipients) this.deps.mailLog.enqueued(notice, r);
      await this.deps.queues.enqueue(notice).catch((err: unknown) => logger.warn({ err, queueId: id }, 'enqueue of a DSN failed; resync will retry'));
      logger.info({ queueId: env.id, dsn: id, kind, to: env.from, recipients: recipients.length }, 'DSN sent');
      this.deps.metrics?.dsn(kind);
      return true;
    } catch (err) {
      logger.warn({ err, queueId: env.id, kind }, 'DSN could not be sent now; will try again');
      return false;
    }
  }
}
