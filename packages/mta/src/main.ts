#!/usr/bin/env node
// The relay process: `node packages/mta/dist/main.js [--config FILE] [--host NAME]`.
// The cluster primary (the dispatcher) forks relay.workers SMTP workers sharing the MX port
// and one job-controller worker that runs the bullmq workers, LMTP delivery and the spool
// resync. Delivery lives in one process so per-channel concurrency and per-destination
// connection caps are exact and one process writes the envelopes after accept (spool/lock.ts).
// core/cluster.ts replaces a dead worker (with its role); SIGTERM/SIGINT drain everything
// (transactions and deliveries in progress finish) and exit.
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { loadServiceConfig, runClusterPrimary, runClusterWorker, startClusterMetricsServer, workerRole } from '@tiermail/core';
import { startRelayService, type RelayRole } from './service.js';

const { config, host, logger } = loadServiceConfig('relay');
const smtpWorkers = config.relay.workers || availableParallelism();
const DRAIN_MS = 30000;

if (cluster.isPrimary) {
  runClusterPrimary({ service: 'relay', logger, roles: [...Array.from({ length: smtpWorkers }, () => 'smtp'), 'jobs'], drainMs: DRAIN_MS });
  logger.info({ smtpWorkers }, 'relay primary started');
  const metricsPort = config.metrics.services.relay;
  if (config.metrics.enabled && metricsPort > 0) {
    // Failing to serve metrics must not stop mail: log it and go on.
    startClusterMetricsServer(config.metrics.listen.host, metricsPort).then(
      (m) => logger.info({ port: m.port }, 'relay metrics on /metrics'),
      (err: unknown) => logger.error({ err }, 'relay metrics not served'),
    );
  }
} else {
  const role: RelayRole = workerRole(['smtp', 'jobs'] as const);
  runClusterWorker(await startRelayService({ config, host, logger: logger.child({ role }), role }), DRAIN_MS);
}
