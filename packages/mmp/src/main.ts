#!/usr/bin/env node
// The MMP process: `node packages/mmp/dist/main.js [--config FILE] [--host NAME]`: a node:cluster
// primary (core/cluster.ts) with mmp.workers proxy workers on shared ports.
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { loadServiceConfig, runClusterPrimary, runClusterWorker, startClusterMetricsServer } from '@tiermail/core';
import { startMmpService } from './service.js';

const { config, host, logger } = loadServiceConfig('mmp');
const workers = config.mmp.workers || availableParallelism();
const DRAIN_MS = 10000;

if (cluster.isPrimary) {
  runClusterPrimary({ service: 'mmp', logger, roles: Array.from({ length: workers }, () => 'worker'), drainMs: DRAIN_MS });
  logger.info({ workers }, 'mmp primary started');
  const metricsPort = config.metrics.services.mmp;
  if (config.metrics.enabled && metricsPort > 0) {
    // Failing to serve metrics must not stop the proxy: log it and go on.
    startClusterMetricsServer(config.metrics.listen.host, metricsPort).then(
      (m) => logger.info({ port: m.port }, 'mmp metrics on /metrics'),
      (err: unknown) => logger.error({ err }, 'mmp metrics not served'),
    );
  }
} else {
  runClusterWorker(await startMmpService({ config, host, logger, metrics: true }), DRAIN_MS);
}
