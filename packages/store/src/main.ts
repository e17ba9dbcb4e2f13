#!/usr/bin/env node
// The store process: `node packages/store/dist/main.js [--config FILE] [--host NAME]`.
// A node:cluster primary runs store.workers LMTP workers on one port and restarts a worker
// that dies; SIGTERM/SIGINT drain every worker (transactions in progress finish) and exit.
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { ConfigError, createLogger, loadConfig, startClusterMetricsServer } from '@tiermail/core';
import { startStoreService } from './service.js';

const { values } = parseArgs({
  options: { config: { type: 'string', short: 'c' }, host: { type: 'string' } },
  strict: true,
});

let loaded;
try {
  loaded = loadConfig({ ...(values.config ? { file: values.config } : {}), ...(values.host ? { host: values.host } : {}), env: process.env });
} catch (err) {
  process.stderr.write(`tiermail-store: ${err instanceof ConfigError ? err.message : String(err)}\n`);
  process.exit(1);
}
const { config } = loaded;
const host = loaded.host ?? 'localhost';
const logger = createLogger({ service: 'store', host, level: config.log.level });
const workers = config.store.workers || availableParallelism();
const DRAIN_MS = 30000;

if (cluster.isPrimary) {
  let stopping = false;
  const recentDeaths: number[] = [];
  const fork = (): void => {
    cluster.fork();
  };
  for (let i = 0; i < workers; i += 1) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    logger.error({ pid: worker.process.pid, code, signal }, 'store worker died; starting another');
    const now = Date.now();
    recentDeaths.push(now);
    while (recentDeaths.length && (recentDeaths[0] ?? 0) < now - 60000) recentDeaths.shift();
    // A worker that dies at once every time (bad disk, bad config) must not spin the CPU.
    setTimeout(fork, recentDeaths.length > workers * 3 ? 5000 : 100);
  });
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping: draining workers');
    for (const w of Object.values(cluster.workers ?? {})) w?.send('drain');
    const deadline = setTimeout(() => process.exit(0), DRAIN_MS + 5000);
    deadline.unref();
    cluster.on('exit', () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const metricsPort = config.metrics.services.store;
  if (config.metrics.enabled && metricsPort > 0) {
    // Failing to serve metrics must not stop mail: log it and go on.
    startClusterMetricsServer(config.metrics.listen.host, metricsPort).then(
      (m) => logger.info({ port: m.port }, 'store metrics on /metrics'),
      (err: unknown) => logger.error({ err }, 'store metrics not served'),
    );
  }
  logger.info({ workers }, 'store primary started');
} else {
  const service = await startStoreService({ config, host, logger });
  let draining = false;
  const drain = async (): Promise<void> => {
    if (draining) return;
    draining = true;
    await service.stop(DRAIN_MS);
    process.exit(0);
  };
  process.on('message', (msg) => {
    if (msg === 'drain') void drain();
  });
  // The primary handles signals; a worker run alone (no primary) still stops cleanly.
  process.on('SIGTERM', () => void drain());
  process.on('SIGINT', () => undefined);
}
