// One place that turns the redis config section into an ioredis client, whatever the mode.
import { Redis, Cluster, type RedisOptions } from 'ioredis';
import type { RedisConfig } from './config/schema.js';

export type RedisClient = Redis | Cluster;

export interface RedisFactoryOptions {
  /** Used by bullmq: it needs maxRetriesPerRequest null on its connections. */
  forQueue?: boolean;
  /** Add the configured keyPrefix to every key (bullmq must not: it has its own prefix). */
  usePrefix?: boolean;
  connectionName?: string;
  /** Where connection errors go; ioredis retries by itself, so they are reported, not thrown. */
  onError?: (err: Error) => void;
}

export function redisOptions(cfg: RedisConfig, opts: RedisFactoryOptions = {}): RedisOptions {
  const o: RedisOptions = {
    connectTimeout: cfg.connectTimeoutMs,
    lazyConnect: false,
    enableOfflineQueue: true,
    ...(cfg.password !== undefined ? { password: cfg.password } : {}),
    ...(cfg.username !== undefined ? { username: cfg.username } : {}),
    ...(opts.connectionName ? { connectionName: opts.connectionName } : {}),
    ...(opts.usePrefix === false ? {} : { keyPrefix: cfg.keyPrefix }),
    // Back off up to 2 s between reconnects instead of hammering a restarting server.
    retryStrategy: (times: number) => Math.min(times * 100, 2000),
  };
  if (opts.forQueue) o.maxRetriesPerRequest = null;
  if (cfg.mode !== 'cluster') o.db = cfg.db;
  return o;
}

function build(cfg: RedisConfig, options: RedisOptions): RedisClient {
  switch (cfg.mode) {
    case 'single':
      return new Redis({ ...options, host: cfg.host, port: cfg.port });
    case 'sentinel':
      return new Redis({ ...options, sentinels: cfg.sentinels, name: cfg.name });
    case 'cluster':
      return new Cluster(cfg.nodes, { redisOptions: options, ...(options.keyPrefix ? { keyPrefix: options.keyPrefix } : {}) });
  }
}

export function createRedis(cfg: RedisConfig, opts: RedisFactoryOptions = {}): RedisClient {
  const client = build(cfg, redisOptions(cfg, opts));
  // Without a listener ioredis prints every reconnect failure to the console.
  client.on('error', (err: Error) => opts.onError?.(err));
  return client;
}

/** Resolve once the client is ready, or reject after its connect timeout with a clear message. */
export async function waitReady(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`redis not ready after ${timeoutMs} ms (status ${client.status})`));
    }, timeoutMs);
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      client.off('ready', onReady);
    };
    client.on('ready', onReady);
  });
}
