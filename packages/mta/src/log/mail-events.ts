// The relay's mail.log records, one per recipient per event (the seeds' codes): E when a
// recipient is enqueued, D delivered, Q temporary failure, R permanent failure (returned;
// a DSN goes to the sender), J refused at RCPT time, K deleted and H held by an operator.
// L marks LMTP deliveries.
import type { MailLog } from '@tiermail/core';
import type { RelayMetrics } from '../metrics.js';
import type { Envelope } from '../spool/envelope.js';
import type { SpoolRecipient } from '../queue/recipient.js';

/** The inbound channel name: mail arriving over SMTP on the MX listener. */
export const SOURCE_SMTP = 'smtp';

export class RelayMailLog {
  constructor(
    private readonly log: MailLog | undefined,
    /** Counts the same events for /metrics (absent in the CLI). */
    private readonly metrics?: RelayMetrics,
  ) {}

  private record(code: string, env: Envelope, r: SpoolRecipient, answer?: string, remote?: string): void {
    this.log?.write({
      source: SOURCE_SMTP,
      dest: r.channel,
      code,
      size: env.size,
      from: env.from,
      orcpt: r.orcpt,
      to: r.to,
      queueId: env.id,
      ...(env.messageId ? { messageId: env.messageId } : {}),
      ...(answer ? { answer } : {}),
      ...(remote ? { remote } : {}),
    });
  }

  enqueued(env: Envelope, r: SpoolRecipient): void {
    this.record('E', env, r, undefined, env.client.address);
  }

  delivered(env: Envelope, r: SpoolRecipient, answer: string, remote: string): void {
    this.record(r.channel === 'lmtp' ? 'DL' : 'D', env, r, answer, remote);
    this.metrics?.delivery(r.channel, 'delivered');
  }

  deferred(env: Envelope, r: SpoolRecipient, answer: string, remote?: string): void {
    this.record(r.channel === 'lmtp' ? 'QL' : 'Q', env, r, answer, remote);
    this.metrics?.delivery(r.channel, answer.startsWith('423') ? 'redirected' : 'deferred');
  }

  returned(env: Envelope, r: SpoolRecipient, answer: string, remote?: string): void {
    this.record(r.channel === 'lmtp' ? 'RL' : 'R', env, r, answer, remote);
    this.metrics?.delivery(r.channel, 'failed');
  }

  /** A delay notice went to the sender about this recipient. */
  delayNotice(env: Envelope, r: SpoolRecipient, answer: string): void {
    this.record('W', env, r, answer);
  }

  /** An operator's action on a queued recipient: K deleted, H held (`tiermail queue`). */
  operator(code: 'K' | 'H', env: Envelope, r: SpoolRecipient, answer: string): void {
    this.record(code, env, r, answer, 'operator');
  }

  rejected(input: { from: string; rcpt: string; answer: string; remote: string; size?: number }): void {
    this.metrics?.rejected(input.answer.split(' ')[1] ?? '');
    this.log?.write({
      source: SOURCE_SMTP,
      dest: '',
      code: 'J',
      size: input.size ?? 0,
      from: input.from,
      orcpt: input.rcpt,
      to: input.rcpt,
      answer: input.answer,
      remote: input.remote,
    });
  }
}
