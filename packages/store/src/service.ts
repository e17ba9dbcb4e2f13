// One store worker: the engine, the LMTP listener, mail.log and events, wired from config.
// The cluster primary (main.ts) runs several of these on one shared port.
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { createLogger, createRedis, MailLog, type Config, type Logger, type RedisClient } from '@tiermail/core';
import { MessageStore } from './engine/index.js';
import { EventPublisher } from './events.js';
import { startLmtpServer, type LmtpServer } from './lmtp/server.js';
import { sendQuotaWarning } from './quota-warning.js';

export interface StoreService {
  lmtp: LmtpServer;
  store: MessageStore;
  stop(graceMs?: number): Promise<void>;
}

export interface StoreServiceOptions {
  config: Config;
  host?: string;
  logger?: Logger;
  /** Listen on this port instead of store.lmtp.port (tests). */
  port?: number;
}

export async function startStoreService(opts: StoreServiceOptions): Promise<StoreService> {
  const { config } = opts;
  const host = opts.host ?? osHostname();
  const logger = opts.logger ?? createLogger({ service: 'store', host, level: config.log.level });
  const store = MessageStore.open(config.store, { logger });
  const mailLog = config.log.mailLog ? new MailLog(join(config.paths.log, 'mail.log'), host) : undefined;
  let redis: RedisClient | undefined;
  try {
    redis = createRedis(config.redis, {
      usePrefix: false,
      connectionName: `store-${host}-${process.pid}`,
      onError: (err) => logger.debug({ err: err.message }, 'redis (events) unavailable'),
    });
  } catch (err) {
    logger.warn({ err }, 'events disabled: cannot create the Redis client');
  }
  const events = new EventPublisher(redis, config.redis.keyPrefix, host);
  const lmtp = await startLmtpServer(store, {
    hostname: host,
    defaultDomain: config.directory.defaultDomain,
    maxRecipients: config.store.maxRecipients,
    maxMessageSize: config.limits.maxMessageSize,
    host: config.store.lmtp.host,
    port: opts.port ?? config.store.lmtp.port,
    allowFrom: config.store.lmtpAllowFrom,
    idleTimeoutMs: config.store.idleTimeoutMs,
    maxLineLength: config.limits.maxLineLength,
    logger,
    ...(mailLog ? { mailLog } : {}),
    onOutcome: (env, i, outcome, _reply, size) => {
      const r = env.recipients[i];
      if (!r || !outcome) return;
      if (outcome.status === 'stored') {
        events.publish({ type: 'NewMsg', user: r.user, mailbox: outcome.folder, uidValidity: outcome.uidValidity, uid: outcome.uid, size, from: env.from });
        if (outcome.quotaWarning) {
          sendQuotaWarning(store, r.user, config.deployment.postmaster, host).catch((err: unknown) =>
            logger.warn({ err, user: r.user }, 'quota warning not delivered'),
          );
        }
      } else if (outcome.status === 'over-quota') {
        events.publish({ type: 'OverQuota', user: r.user });
      }
    },
  });
  logger.info({ port: lmtp.port }, 'store LMTP listening');
  return {
    lmtp,
    store,
    async stop(graceMs = 30000) {
      await lmtp.close(graceMs);
      await mailLog?.close();
      redis?.disconnect();
      store.close();
    },
  };
}
