#!/usr/bin/env node
// The store process: `node packages/store/dist/main.js [--config FILE] [--host NAME]`.
// A node:cluster primary (core/cluster.ts) runs store.workers workers sharing the LMTP and
// IMAP ports, restarts one that dies, serves the summed /metrics; SIGTERM/SIGINT drain every
// worker (transactions in progress finish) and exit.
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { loadServiceConfig, runClusterPrimary, runClusterWorker, startClusterMetricsServer } from '@tiermail/core';
import { scheduleExpiry } from './expire/schedule.js';
import { startStoreService } from './service.js';

const { config, host, logger } = loadServiceConfig('store');
const workers = config.store.workers || availableParallelism();
const DRAIN_MS = 30000;

if (cluster.isPrimary) {
  runClusterPrimary({ service: 'store', logger, roles: Array.from({ length: workers }, () => 'worker'), drainMs: DRAIN_MS });
  const metricsPort = config.metrics.services.store;
  if (config.metrics.enabled && metricsPort > 0) {
    // Failing to serve metrics must not stop mail: log it and go on.
    startClusterMetricsServer(config.metrics.listen.host, metricsPort).then(
      (m) => logger.info({ port: m.port }, 'store metrics on /metrics'),
      (err: unknown) => logger.error({ err }, 'store metrics not served'),
    );
  }
  scheduleExpiry(config, logger);
  logger.info({ workers }, 'store primary started');
} else {
  runClusterWorker(await startStoreService({ config, host, logger }), DRAIN_MS);
}
