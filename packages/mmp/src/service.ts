// One MMP worker: the IMAP proxy listeners (plain with STARTTLS, and implicit TLS) and the POP3
// proxy, with the
// directory and the login policy. The cluster primary (main.ts) runs several on shared ports.
import { hostname as osHostname } from 'node:os';
import { createSecureContext } from 'node:tls';
import {
  closeGracefully,
  createLogger,
  createRedis,
  Directory,
  DirectoryLogin,
  followDirectoryInvalidations,
  listen,
  tlsMaterial,
  type Config,
  type Logger,
  type RedisClient,
} from '@tiermail/core';
import { ProxyConnection } from './imap/proxy.js';
import { LoginFailures } from './limits.js';
import { Pop3ProxyConnection } from './pop3/proxy.js';
import { countedLogin, mmpMetrics } from './metrics.js';
import { startSubmissionServer } from './submission/server.js';

export interface MmpService {
  imapPort?: number;
  pop3Port?: number;
  submissionPort?: number;
  submissionsPort?: number;
  pop3sPort?: number;
  imapsPort?: number;
  stop(graceMs?: number): Promise<void>;
}

export async function startMmpService(opts: { config: Config; host?: string; logger?: Logger; /** Register /metrics (cluster workers). */ metrics?: boolean }): Promise<MmpService> {
  const { config } = opts;
  const host = opts.host ?? osHostname();
  const logger = opts.logger ?? createLogger({ service: 'mmp', host, level: config.log.level });
  const directory = new Directory(config.directory, { logger });
  // mailHost switches (user moves) reach the routing cache at once, not after its TTL.
  let invalidations: RedisClient | undefined;
  try {
    invalidations = createRedis(config.redis, { usePrefix: false, connectionName: `mmp-${host}-${process.pid}-dir`, onError: () => undefined });
    followDirectoryInvalidations(directory, invalidations, config.redis.keyPrefix, logger);
  } catch (err) {
    logger.warn({ err }, 'directory invalidations not followed: cannot create the Redis client');
  }
  // The MMP is not a trusted proxy for itself: proxy logins arrive at the stores, not here.
  const login = countedLogin(new DirectoryLogin(directory, { plaintextAuth: config.mmp.plaintextAuth, proxyAdmins: [], proxyTrustedNetworks: [] }));
  const material = tlsMaterial(config);
  const tls = material ? createSecureContext(material) : undefined;
  const failures = new LoginFailures(config.mmp.authFailureDelayMs);
  const ctx = { config, directory, login, failures, hostname: host, logger, ...(tls ? { tls } : {}) };
  const servers: Array<Awaited<ReturnType<typeof listen<ProxyConnection | Pop3ProxyConnection>>>> = [];
  const out: MmpService = {
    async stop(graceMs = 10000) {
      await Promise.all([...servers.map((l) => closeGracefully(l.server, l.connections, graceMs, () => undefined)), ...submissions.map((s) => s.close())]);
      invalidations?.disconnect();
      await directory.close();
    },
  };
  if (opts.metrics) mmpMetrics(host, () => servers.map((l, i) => ({ listener: names[i] ?? 'other', open: l.connections.size })));
  const names: string[] = [];
  const common = { maxConnectionsPerAddress: config.mmp.maxConnectionsPerIp, tooManyReply: '* BYE Too many connections from your address\r\n', protocol: 'mmp-imap', logger };
  if (config.mmp.imap) {
    const l = await listen({ ...common, host: config.mmp.imap.host, port: config.mmp.imap.port }, (s) => new ProxyConnection(s, ctx, false));
    servers.push(l);
    names.push('imap');
    out.imapPort = l.port;
    logger.info({ port: l.port, starttls: tls !== undefined }, 'mmp IMAP listening');
  }
  if (config.mmp.pop3) {
    const l = await listen(
      { ...common, tooManyReply: '-ERR [SYS/TEMP] Too many connections from your address\r\n', protocol: 'mmp-pop3', host: config.mmp.pop3.host, port: config.mmp.pop3.port },
      (s) => new Pop3ProxyConnection(s, ctx, false),
    );
    servers.push(l);
    names.push('pop3');
    out.pop3Port = l.port;
    logger.info({ port: l.port }, 'mmp POP3 listening');
  }
  const submissions: Array<{ close(): Promise<void> }> = [];
  const subCtx = { config, directory, login, hostname: host, logger, ...(material ? { tls: { cert: material.cert as Buffer, key: material.key as Buffer } } : {}) };
  if (config.mmp.submission) {
    const sub = await startSubmissionServer(subCtx, config.mmp.submission.host, config.mmp.submission.port);
    submissions.push(sub);
    out.submissionPort = sub.port;
    logger.info({ port: sub.port }, 'mmp submission listening');
  }
  if (config.mmp.submissions) {
    const sub = await startSubmissionServer(subCtx, config.mmp.submissions.host, config.mmp.submissions.port, true);
    submissions.push(sub);
    out.submissionsPort = sub.port;
  }
  if (config.mmp.pop3s) {
    if (!material) throw new Error('mmp.pop3s needs tls.cert and tls.key');
    const l = await listen(
      { ...common, tooManyReply: '-ERR [SYS/TEMP] Too many connections from your address\r\n', protocol: 'mmp-pop3s', host: config.mmp.pop3s.host, port: config.mmp.pop3s.port, tls: material, implicitTls: true },
      (s) => new Pop3ProxyConnection(s, ctx, true),
    );
    servers.push(l);
    names.push('pop3s');
    out.pop3sPort = l.port;
  }
  if (config.mmp.imaps) {
    if (!material) throw new Error('mmp.imaps needs tls.cert and tls.key');
    const l = await listen({ ...common, host: config.mmp.imaps.host, port: config.mmp.imaps.port, tls: material, implicitTls: true }, (s) => new ProxyConnection(s, ctx, true));
    servers.push(l);
    names.push('imaps');
    out.imapsPort = l.port;
  }
  return out;
}
