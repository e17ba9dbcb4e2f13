// The producer side of the job controller: one bullmq Queue per channel of this relay. A job
// names a spooled message and a destination; what to deliver is read from the spool when the
// job runs, so a job can never disagree with the spool about what is still pending.
import { Queue, type ConnectionOptions } from 'bullmq';
import type { Envelope } from '../spool/envelope.js';
import { jobId, queueName, type JobData } from './names.js';
import type { Channel } from './recipient.js';

/** Jobs retry until the spool says the recipients are done (expiry comes with the DSN slice). */
export const JOB_ATTEMPTS = 1_000_000;
export const BACKOFF_TYPE = 'spool';

/** One job per channel and destination with pending recipients, due at the earliest of them. */
export function jobsFor(env: Envelope, now = Date.now()): Array<{ data: JobData; delayMs: number }> {
  const due = new Map<string, { data: JobData; at: number }>();
  for (const r of env.recipients) {
    if (r.status.state !== 'pending') continue;
    const key = `${r.channel}\n${r.destination}`;
    const at = Date.parse(r.status.nextTryAt) || now;
    const cur = due.get(key);
    if (!cur) due.set(key, { data: { id: env.id, channel: r.channel, destination: r.destination }, at });
    else cur.at = Math.min(cur.at, at);
  }
  return [...due.values()].map(({ data, at }) => ({ data, delayMs: Math.max(0, at - now) }));
}

export class JobQueues {
  private readonly queues = new Map<Channel, Queue<JobData>>();

  constructor(
    private readonly connection: ConnectionOptions,
    private readonly relayHost: string,
    private readonly prefix: string,
  ) {}

  queue(channel: Channel): Queue<JobData> {
    let q = this.queues.get(channel);
    if (!q) {
      q = new Queue<JobData>(queueName(this.relayHost, channel), { connection: this.connection, prefix: this.prefix });
      q.on('error', () => undefined); // connection trouble is reported by the Redis client
      this.queues.set(channel, q);
    }
    return q;
  }

  private async add(data: JobData, delayMs: number): Promise<void> {
    await this.queue(data.channel).add('deliver', data, {
      jobId: jobId(data),
      delay: delayMs,
      attempts: JOB_ATTEMPTS,
      backoff: { type: BACKOFF_TYPE },
      removeOnComplete: true,
      // A job that fails for good (a bug, not a delivery answer) is removed so the next
      // resync can enqueue the message again.
      removeOnFail: true,
    });
  }

  /** At accept: add the message's jobs (a no-op for a job id that exists). */
  async enqueue(env: Envelope): Promise<number> {
    const jobs = jobsFor(env);
    for (const j of jobs) await this.add(j.data, j.delayMs);
    return jobs.length;
  }

  /**
   * At resync: add each job that is missing. A job that exists but is finished (completed or
   * failed, if kept) does not deliver anything any more, so it is replaced.
   */
  async ensure(env: Envelope): Promise<number> {
    let added = 0;
    for (const j of jobsFor(env)) {
      const q = this.queue(j.data.channel);
      const existing = await q.getJob(jobId(j.data));
      if (existing) {
        const state = await existing.getState();
        if (state !== 'completed' && state !== 'failed' && state !== 'unknown') continue;
        await existing.remove().catch(() => undefined);
      }
      await this.add(j.data, j.delayMs);
      added += 1;
    }
    return added;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
