// The consumer side of the job controller: a bullmq Worker per built channel (lmtp only in
// this release; smtp jobs wait in their queue for the slice that delivers them), with the
// channel's concurrency and a backoff taken from the spool (see retry-later.ts).
import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from '@tiermail/core';
import { BACKOFF_TYPE } from './job-queues.js';
import { queueName, type JobData } from './names.js';
import type { Channel } from './recipient.js';
import { RetryLater } from './retry-later.js';
import { retryDelayMs } from './retry.js';

export interface ChannelWorkerOptions {
  channel: Channel;
  relayHost: string;
  prefix: string;
  connection: ConnectionOptions;
  concurrency: number;
  retrySeconds: readonly number[];
  /** bullmq lockDuration: a job of a killed process runs again once its lock expires. */
  lockMs: number;
  logger: Logger;
  process(job: JobData): Promise<unknown>;
}

export function startChannelWorker(o: ChannelWorkerOptions): Worker<JobData> {
  const worker = new Worker<JobData>(
    queueName(o.relayHost, o.channel),
    async (job: Job<JobData>) => o.process(job.data),
    {
      connection: o.connection,
      prefix: o.prefix,
      concurrency: o.concurrency,
      lockDuration: o.lockMs,
      // Look for jobs whose process died (expired locks) three times per lock period.
      stalledInterval: Math.max(1000, Math.floor(o.lockMs / 3)),
      settings: {
        backoffStrategy: (attemptsMade: number, type?: string, err?: Error) => {
          if (type !== BACKOFF_TYPE) return retryDelayMs(o.retrySeconds, attemptsMade);
          if (err instanceof RetryLater) return err.delayMs;
          // Anything else thrown by a job is a local problem (disk, a bug): retry on schedule.
          return retryDelayMs(o.retrySeconds, attemptsMade);
        },
      },
    },
  );
  worker.on('failed', (job, err) => {
    if (err instanceof RetryLater) o.logger.debug({ job: job?.id, delayMs: err.delayMs }, err.message);
    else o.logger.warn({ job: job?.id, err }, 'delivery job failed');
  });
  worker.on('error', (err) => o.logger.warn({ err: err.message }, 'job worker error'));
  return worker;
}
