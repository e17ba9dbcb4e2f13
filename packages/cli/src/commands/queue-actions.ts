// What `tiermail queue hold | release | return | delete | retry` do to one message. Each first
// takes the message's delivery jobs out of Redis (a message being delivered right now is
// skipped and reported, never changed under the relay), then rewrites its envelope the way
// the relay does (write, fsync, rename), and writes mail.log records: H held, K deleted,
// R returned (with the DSN sent to the sender as the relay would).
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { createLogger, createRedis, Directory, MailLog, type Config, type RedisClient } from '@tiermail/core';
import {
  DsnNotifier,
  jobId,
  JobQueues,
  queueName,
  RelayMailLog,
  settleAndFinish,
  type Channel,
  type Envelope,
  type RelaySettings,
  type Spool,
} from '@tiermail/mta';

const CHANNELS: Channel[] = ['lmtp', 'smtp'];

export type ActionResult = 'done' | 'busy' | 'skipped';

export class QueueActions {
  readonly queues: Record<Channel, Queue>;
  private readonly jobQueues: JobQueues;
  private readonly mailLog: RelayMailLog;
  private readonly fileLog: MailLog | undefined;
  private directory: Directory | undefined;

  private constructor(
    private readonly config: Config,
    private readonly settings: RelaySettings,
    readonly spool: Spool,
    private readonly redis: RedisClient,
  ) {
    this.queues = Object.fromEntries(
      CHANNELS.map((c) => [c, new Queue(queueName(settings.host, c), { connection: redis, prefix: settings.queuePrefix })]),
    ) as Record<Channel, Queue>;
    this.jobQueues = new JobQueues(redis, settings.host, settings.queuePrefix);
    this.fileLog = config.log.mailLog ? new MailLog(settings.mailLogFile, settings.host) : undefined;
    this.mailLog = new RelayMailLog(this.fileLog);
  }

  static open(config: Config, settings: RelaySettings, spool: Spool): QueueActions {
    const redis = createRedis(config.redis, { forQueue: true, usePrefix: false, connectionName: 'tiermail-cli-queue' });
    return new QueueActions(config, settings, spool, redis);
  }

  async close(): Promise<void> {
    await Promise.all([...Object.values(this.queues).map((q) => q.close()), this.jobQueues.close()]);
    await this.directory?.close();
    await this.fileLog?.close();
    this.redis.disconnect();
  }

  private destinations(env: Envelope): Array<{ channel: Channel; destination: string }> {
    const seen = new Map<string, { channel: Channel; destination: string }>();
    for (const r of env.recipients) seen.set(`${r.channel}\n${r.destination}`, { channel: r.channel, destination: r.destination });
    return [...seen.values()];
  }

  /** Removes the message's jobs; false if one is running (the relay is delivering it now). */
  private async unschedule(env: Envelope): Promise<boolean> {
    for (const d of this.destinations(env)) {
      const job = await this.queues[d.channel].getJob(jobId({ id: env.id, ...d }));
      if (!job) continue;
      if ((await job.getState()) === 'active') return false;
      await job.remove();
    }
    return true;
  }

  async retry(env: Envelope): Promise<ActionResult> {
    if (env.held) return 'skipped';
    let promoted = 0;
    for (const d of this.destinations(env)) {
      const job = await this.queues[d.channel].getJob(jobId({ id: env.id, ...d }));
      if (job && (await job.getState()) === 'delayed') {
        await job.promote();
        promoted += 1;
      }
    }
    return promoted > 0 ? 'done' : 'skipped';
  }

  async hold(env: Envelope, reason: string | undefined): Promise<ActionResult> {
    if (env.held) return 'skipped';
    if (!(await this.unschedule(env))) return 'busy';
    env.held = { at: new Date().toISOString(), ...(reason ? { reason } : {}) };
    await this.spool.writeEnvelope(env);
    for (const r of env.recipients) if (r.status.state === 'pending') this.mailLog.operator('H', env, r, `held by the operator${reason ? `: ${reason}` : ''}`);
    return 'done';
  }

  async release(env: Envelope): Promise<ActionResult> {
    if (!env.held) return 'skipped';
    delete env.held;
    await this.spool.writeEnvelope(env);
    // Recipients whose next try has passed go at once; the rest keep their schedule.
    await this.jobQueues.enqueue(env);
    return 'done';
  }

  async returnToSender(env: Envelope, reason: string | undefined): Promise<ActionResult> {
    if (!(await this.unschedule(env))) return 'busy';
    const now = new Date();
    const notifier = this.notifier();
    const answer = `550 5.0.0 returned to the sender by the postmaster${reason ? `: ${reason}` : ''}`;
    delete env.held;
    const returned = env.recipients.filter((r) => r.status.state === 'pending');
    for (const r of returned) {
      r.status = { state: 'failed', attempts: r.status.attempts, at: now.toISOString(), answer, dsn: notifier.failureDsn(env, r) };
    }
    await this.spool.writeEnvelope(env);
    for (const r of returned) this.mailLog.returned(env, r, answer, 'operator');
    await settleAndFinish({ spool: this.spool, notifier, mailLog: this.mailLog }, env, now);
    return 'done';
  }

  async delete(env: Envelope): Promise<ActionResult> {
    if (!(await this.unschedule(env))) return 'busy';
    const dir = join(this.spool.dir, 'deleted');
    await mkdir(dir, { recursive: true });
    // Envelope first: without it the relay no longer considers the message queued.
    await rename(this.spool.envelopePath(env.id), join(dir, `${env.id}.json`));
    await rename(this.spool.messagePath(env.id), join(dir, `${env.id}.eml`)).catch(() => undefined);
    for (const r of env.recipients) if (r.status.state === 'pending') this.mailLog.operator('K', env, r, 'deleted by the operator');
    return 'done';
  }

  private notifier(): DsnNotifier {
    this.directory ??= new Directory(this.config.directory, { logger: createLogger({ service: 'cli', level: 'error' }) });
    const { lmtp, smtp } = this.settings.channels;
    return new DsnNotifier({
      spool: this.spool,
      directory: this.directory,
      queues: this.jobQueues,
      mailLog: this.mailLog,
      logger: createLogger({ service: 'cli', level: 'warn' }),
      hostname: this.settings.hostname,
      defaultDomain: this.config.directory.defaultDomain,
      noticesDays: { lmtp: lmtp.noticesDays, smtp: smtp.noticesDays },
      maxReturnBytes: this.config.relay.dsn.maxReturnBytes,
    });
  }
}
