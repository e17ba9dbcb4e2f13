#!/usr/bin/env node
// The MMP process: `node packages/mmp/dist/main.js [--config FILE] [--host NAME]`: a node:cluster
// primary (core/cluster.ts) with mmp.workers proxy workers on shared ports.
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { loadServiceConfig, runClusterPrimary, runClusterWorker } from '@tiermail/core';
import { startMmpService } from './service.js';

const { config, host, logger } = loadServiceConfig('mmp');
const workers = config.mmp.workers || availableParallelism();
const DRAIN_MS = 10000;

if (cluster.isPrimary) {
  runClusterPrimary({ service: 'mmp', logger, roles: Array.from({ length: workers }, () => 'worker'), drainMs: DRAIN_MS });
  logger.info({ workers }, 'mmp primary started');
} else {
  runClusterWorker(await startMmpService({ config, host, logger }), DRAIN_MS);
}
