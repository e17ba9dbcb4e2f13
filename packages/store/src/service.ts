// One store worker: the engine, the LMTP and IMAP listeners, mail.log, events and the change
// feed, wired from config. The cluster primary (main.ts) runs several of these on shared ports.
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { createLogger, createRedis, Directory, MailLog, tlsMaterial, type Config, type Logger, type RedisClient } from '@tiermail/core';
import { DirectoryLogin } from './access/login.js';
import { UserSessionLimit } from './access/user-limit.js';
import { StoreChanges } from './changes.js';
import { MoveStates, type MoveLookup } from './moves.js';
import { refuseMovedUsers } from './moves-login.js';
import { MessageStore } from './engine/index.js';
import { EventPublisher, publishChange, type EventSink } from './events.js';
import { storeMetrics, type ImapMetrics } from './metrics.js';
import { startImapServer, type ImapServer } from './imap/server.js';
import { startLmtpServer, type LmtpServer } from './lmtp/server.js';
import { startPop3Server, type Pop3Server } from './pop3/index.js';
import { sendQuotaWarning } from './quota-warning.js';

export interface StoreService {
  lmtp: LmtpServer;
  /** Absent when store.imap / store.pop3 is null. */
  imap?: ImapServer;
  imaps?: ImapServer;
  pop3?: Pop3Server;
  pop3s?: Pop3Server;
  changes: StoreChanges;
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

/** The mail access listeners (IMAP now; POP3 next to it), which share the login policy. */
async function startAccess(
  opts: StoreServiceOptions,
  store: MessageStore,
  changes: StoreChanges,
  host: string,
  logger: Logger,
  imapMetrics: ImapMetrics,
  events: EventSink,
  moves: MoveLookup,
): Promise<{ servers: { imap?: ImapServer; imaps?: ImapServer; pop3?: Pop3Server; pop3s?: Pop3Server }; directory: Directory }> {
  const { config } = opts;
  const sc = config.store;
  const directory = new Directory(config.directory, { logger });
  const login = refuseMovedUsers(
    new DirectoryLogin(directory, {
      plaintextAuth: sc.plaintextAuth,
      proxyAdmins: sc.proxyAuth.admins,
      proxyTrustedNetworks: sc.proxyAuth.trustedNetworks,
    }),
    moves,
  );
  const tls = tlsMaterial(config);
  const userLimit = new UserSessionLimit(sc.maxConnectionsPerUser);
  const common = {
    userLimit,
    metrics: imapMetrics,
    events,
    login,
    changes,
    moves,
    hostname: host,
    idleTimeoutMs: sc.imapIdleTimeoutMs,
    maxConnectionsPerAddress: sc.maxConnectionsPerIp,
    maxAppendBytes: config.limits.maxMessageSize,
    logger,
    ...(tls ? { tls } : {}),
  };
  const servers: { imap?: ImapServer; imaps?: ImapServer; pop3?: Pop3Server; pop3s?: Pop3Server } = {};
  if (sc.imap) {
    servers.imap = await startImapServer(store, { ...common, host: sc.imap.host, port: sc.imap.port });
    logger.info({ port: servers.imap.port, starttls: tls !== undefined }, 'store IMAP listening');
  }
  if (sc.imaps) {
    if (!tls) throw new Error('store.imaps needs tls.cert and tls.key');
    servers.imaps = await startImapServer(store, { ...common, host: sc.imaps.host, port: sc.imaps.port, implicitTls: true });
    logger.info({ port: servers.imaps.port }, 'store IMAPS listening');
  }
  const pop = {
    store,
    login,
    lockDir: join(config.paths.run, 'pop3-locks'),
    hostname: host,
    idleTimeoutMs: sc.pop3IdleTimeoutMs,
    maxConnectionsPerAddress: sc.maxConnectionsPerIp,
    userLimit,
    events,
    logger,
    ...(tls ? { tls } : {}),
  };
  if (sc.pop3) {
    servers.pop3 = await startPop3Server(store, { ...pop, host: sc.pop3.host, port: sc.pop3.port });
    logger.info({ port: servers.pop3.port, stls: tls !== undefined }, 'store POP3 listening');
  }
  if (sc.pop3s) {
    if (!tls) throw new Error('store.pop3s needs tls.cert and tls.key');
    servers.pop3s = await startPop3Server(store, { ...pop, host: sc.pop3s.host, port: sc.pop3s.port, implicitTls: true });
    logger.info({ port: servers.pop3s.port }, 'store POP3S listening');
  }
  return { servers, directory };
}

export async function startStoreService(opts: StoreServiceOptions): Promise<StoreService> {
  const { config } = opts;
  const host = opts.host ?? osHostname();
  const logger = opts.logger ?? createLogger({ service: 'store', host, level: config.log.level });
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
  let subscriber: RedisClient | undefined;
  try {
    subscriber = createRedis(config.redis, {
      usePrefix: false,
      connectionName: `store-${host}-${process.pid}-changes`,
      onError: (err) => logger.debug({ err: err.message }, 'redis (change feed) unavailable'),
    });
  } catch (err) {
    logger.warn({ err }, 'change feed limited to this process: cannot create the Redis client');
  }
  const changes = new StoreChanges(config.redis.keyPrefix, redis, subscriber, logger);
  const moves = new MoveStates(host, config.redis.keyPrefix, redis, subscriber, logger);
  moves.start();
  // A user's move state changed: their sessions hear it like a mailbox change (and end if moved).
  moves.onChange((user) => changes.notify(user));
  const metrics = storeMetrics({ host });
  const store = MessageStore.open(config.store, {
    logger,
    onChange: (user, change) => {
      changes.notify(user);
      publishChange(events, user, change);
    },
  });
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
    moves,
    ...(mailLog ? { mailLog } : {}),
    onOutcome: (env, i, outcome, _reply, size) => {
      metrics.delivery(outcome);
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
  const access = await startAccess(opts, store, changes, host, logger, metrics.imap, events, moves);
  return {
    lmtp,
    ...access.servers,
    store,
    changes,
    async stop(graceMs = 30000) {
      await Promise.all([lmtp.close(graceMs), ...Object.values(access.servers).map((s) => s.close(graceMs))]);
      await access.directory.close();
      subscriber?.disconnect();
      await mailLog?.close();
      redis?.disconnect();
      store.close();
    },
  };
}
