// One relay process, wired from config. main.ts runs it in two roles: 'smtp' in each cluster
// worker (the MX listener: accept, spool, enqueue) and 'jobs' in one dedicated worker (the job
// controller: bullmq workers, LMTP delivery, resync). 'all' runs both in one process (tests,
// small installs).
import { hostname as osHostname } from 'node:os';
import type { Worker } from 'bullmq';
import { createLogger, createRedis, Directory, followDirectoryInvalidations, MailLog, type Config, type Logger, type RedisClient } from '@tiermail/core';
import { ConnectionPool } from './client/pool.js';
import type { DeliveryDeps } from './delivery/apply.js';
import { settleAndFinish } from './delivery/apply.js';
import { DsnNotifier } from './dsn/notifier.js';
import { deliverLmtpJob } from './lmtp/deliver.js';
import { deliverSmtpJob } from './smtp-out/deliver.js';
import { MxResolver } from './smtp-out/mx.js';
import { RelayMailLog } from './log/mail-events.js';
import { NetworkList } from '@tiermail/core';
import { startChannelWorker } from './queue/controller.js';
import { JobQueues } from './queue/job-queues.js';
import { resyncSpool, type ResyncResult } from './queue/resync.js';
import { relayMetrics } from './metrics.js';
import { relaySettings } from './settings.js';
import { startSmtpListeners, type NamedListener } from './smtp/listeners.js';
import type { SmtpListener } from './smtp/server.js';
import { KeyedLock } from './spool/lock.js';
import type { Envelope } from './spool/envelope.js';
import { Spool } from './spool/spool.js';

export type RelayRole = 'smtp' | 'jobs' | 'all';

export interface RelayServiceOptions {
  config: Config;
  host?: string;
  logger?: Logger;
  role?: RelayRole;
  /** Listen here instead of relay.smtp.port (tests). */
  port?: number;
}

export interface RelayService {
  /** The MX listener (undefined in the jobs role). */
  smtp: SmtpListener | undefined;
  /** Every SMTP listener: smtp, submission, submissions. */
  listeners: NamedListener[];
  spool: Spool;
  /** Runs a resync now (the jobs role only); resolves with what it did. */
  resync(): Promise<ResyncResult | undefined>;
  stop(graceMs?: number): Promise<void>;
}

export async function startRelayService(opts: RelayServiceOptions): Promise<RelayService> {
  const { config } = opts;
  const role = opts.role ?? 'all';
  const host = opts.host ?? osHostname();
  const settings = relaySettings(config, host);
  const logger = opts.logger ?? createLogger({ service: 'relay', host, level: config.log.level });
  const spool = new Spool(settings.spoolDir);
  await spool.init();
  const fileLog = config.log.mailLog ? new MailLog(settings.mailLogFile, host) : undefined;
  const metrics = relayMetrics({ host });
  const mailLog = new RelayMailLog(fileLog, metrics);
  const directory = new Directory(config.directory, { logger });
  const redis: RedisClient = createRedis(config.redis, {
    forQueue: true,
    usePrefix: false,
    connectionName: `relay-${host}-${role}-${process.pid}`,
    onError: (err) => logger.debug({ err: err.message }, 'redis unavailable'),
  });
  const queues = new JobQueues(redis, host, settings.queuePrefix);
  // mailHost switches (user moves) reach the directory cache at once, not after its TTL.
  const invalidations = createRedis(config.redis, { usePrefix: false, connectionName: `relay-${host}-${role}-${process.pid}-dir`, onError: () => undefined });
  followDirectoryInvalidations(directory, invalidations, config.redis.keyPrefix, logger);

  let listeners: NamedListener[] = [];
  if (role !== 'jobs') {
    listeners = await startSmtpListeners(
      {
        hostname: settings.hostname,
        defaultDomain: config.directory.defaultDomain,
        directory,
        spool,
        mailLog,
        logger,
        trusted: new NetworkList(config.relay.trustedNetworks),
        maxReceived: config.relay.maxReceived,
        maxMessageSize: config.limits.maxMessageSize,
        policyTimeoutMs: config.relay.policyTimeoutMs,
        onAccepted(env) {
          for (const r of env.recipients) mailLog.enqueued(env, r);
          // The message is safe on disk already; if Redis is away, the next resync enqueues it.
          queues.enqueue(env).catch((err: unknown) => logger.warn({ err, queueId: env.id }, 'enqueue failed; resync will retry'));
        },
      },
      config,
      opts.port !== undefined ? { port: opts.port } : {},
    );
  }
  const smtp = listeners.find((l) => l.name === 'smtp');

  const workers: Worker[] = [];
  const pools: ConnectionPool[] = [];
  let resyncTimer: NodeJS.Timeout | undefined;
  let resyncRunning: Promise<ResyncResult> | undefined;
  const locks = new KeyedLock();
  const { lmtp, smtp: smtpChannel } = settings.channels;
  const notifier = new DsnNotifier({
    spool,
    directory,
    queues,
    mailLog,
    logger,
    hostname: settings.hostname,
    defaultDomain: config.directory.defaultDomain,
    noticesDays: { lmtp: lmtp.noticesDays, smtp: smtpChannel.noticesDays },
    maxReturnBytes: config.relay.dsn.maxReturnBytes,
    metrics,
  });
  const settle = (env: Envelope): Promise<void> => settleAndFinish({ spool, notifier, mailLog }, env);
  const resync = async (): Promise<ResyncResult | undefined> => {
    if (role === 'smtp') return undefined;
    // Never two at once: a slow scan must not pile up behind itself.
    resyncRunning ??= resyncSpool(spool, queues, locks, logger, settle).finally(() => (resyncRunning = undefined));
    const r = await resyncRunning;
    metrics.spoolMessages(r.scanned);
    if (r.enqueued > 0 || r.finished > 0 || r.unreadable > 0) logger.info(r, 'spool resync');
    return r;
  };

  if (role !== 'smtp') {
    const poolOf = (protocol: 'lmtp' | 'smtp', maxPerDestination: number, idleMs: number): ConnectionPool => {
      const p = new ConnectionPool({ protocol, maxPerDestination, idleMs, helo: settings.hostname, connectTimeoutMs: 10000, replyTimeoutMs: 300000 });
      pools.push(p);
      return p;
    };
    const base: DeliveryDeps = {
      spool,
      locks,
      mailLog,
      logger,
      notifier,
      queues,
      retrySeconds: { lmtp: lmtp.retrySeconds, smtp: smtpChannel.retrySeconds },
    };
    const lmtpDeps = { ...base, config, directory, pool: poolOf('lmtp', lmtp.connectionsPerDestination, 30000) };
    const smtpDeps = {
      ...base,
      pool: poolOf('smtp', smtpChannel.connectionsPerDestination, 5000),
      startTls: smtpChannel.startTls,
      mx: new MxResolver({
        servers: config.relay.dns.servers,
        timeoutMs: config.relay.dns.timeoutMs,
        port: smtpChannel.port,
        maxHosts: smtpChannel.maxHosts,
        smarthost: smtpChannel.smarthost,
        routes: smtpChannel.routes,
      }),
    };
    const common = { relayHost: host, prefix: settings.queuePrefix, connection: redis, logger, lockMs: config.relay.jobLockMs };
    workers.push(
      startChannelWorker({ ...common, channel: 'lmtp', concurrency: lmtp.concurrency, retrySeconds: lmtp.retrySeconds, process: (job) => deliverLmtpJob(lmtpDeps, job) }),
      startChannelWorker({
        ...common,
        channel: 'smtp',
        concurrency: smtpChannel.concurrency,
        retrySeconds: smtpChannel.retrySeconds,
        process: (job) => deliverSmtpJob(smtpDeps, job),
      }),
    );
    metrics.queueDepth(async () => {
      const out: Array<{ channel: 'lmtp' | 'smtp'; state: string; count: number }> = [];
      for (const channel of ['lmtp', 'smtp'] as const) {
        const counts = await queues.queue(channel).getJobCounts('waiting', 'delayed', 'active');
        for (const [state, count] of Object.entries(counts)) out.push({ channel, state, count });
      }
      return out;
    });
    const runResync = (): void => {
      resync().catch((err: unknown) => logger.error({ err }, 'spool resync failed'));
    };
    runResync();
    if (config.relay.resyncIntervalMs > 0) {
      resyncTimer = setInterval(runResync, config.relay.resyncIntervalMs);
      resyncTimer.unref();
    }
    logger.info({ queues: [`tm-${host}-lmtp`, `tm-${host}-smtp`], prefix: settings.queuePrefix }, 'relay job controller started');
  }

  return {
    smtp,
    listeners,
    spool,
    resync,
    async stop(graceMs = 30000) {
      clearInterval(resyncTimer);
      const deadline = new Promise<void>((r) => setTimeout(r, graceMs).unref());
      // SMTP first (no new mail), then let running deliveries finish (bullmq waits for them).
      await Promise.race([Promise.all([...listeners.map((l) => l.close()), ...workers.map((w) => w.close())]), deadline]);
      await resyncRunning?.catch(() => undefined);
      await Promise.all(pools.map((p) => p.close()));
      await queues.close().catch(() => undefined);
      redis.disconnect();
      invalidations.disconnect();
      await directory.close();
      await fileLog?.close();
    },
  };
}
