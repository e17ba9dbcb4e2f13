#!/usr/bin/env node
// The MMP process: `node packages/mmp/dist/main.js [--config FILE] [--host NAME]`: a node:cluster
// primary (core/cluster.ts) with mmp.workers proxy workers on shared ports.
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { ConfigError, createLogger, loadConfig, runClusterPrimary, runClusterWorker } from '@tiermail/core';
import { startMmpService } from './service.js';

const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' }, host: { type: 'string' } }, strict: true });
let loaded;
try {
  loaded = loadConfig({ ...(values.config ? { file: values.config } : {}), ...(values.host ? { host: values.host } : {}), env: process.env });
} catch (err) {
  process.stderr.write(`tiermail-mmp: ${err instanceof ConfigError ? err.message : String(err)}\n`);
  process.exit(1);
}
const { config } = loaded;
const host = loaded.host ?? 'localhost';
const logger = createLogger({ service: 'mmp', host, level: config.log.level });
const workers = config.mmp.workers || availableParallelism();
const DRAIN_MS = 10000;

if (cluster.isPrimary) {
  runClusterPrimary({ service: 'mmp', logger, roles: Array.from({ length: workers }, () => 'worker'), drainMs: DRAIN_MS });
  logger.info({ workers }, 'mmp primary started');
} else {
  runClusterWorker(await startMmpService({ config, host, logger }), DRAIN_MS);
}
