#!/usr/bin/env node
// The relay process: `node packages/mta/dist/main.js [--config FILE] [--host NAME]`.
// The cluster primary (the dispatcher) forks relay.workers SMTP workers sharing the MX port
// and one job-controller worker that runs the bullmq workers, LMTP delivery and the spool
// resync. Delivery lives in one process so per-channel concurrency and per-destination
// connection caps are exact and one process writes the envelopes after accept (spool/lock.ts).
// A dead worker is replaced; SIGTERM/SIGINT drain everything (transactions and deliveries in
// progress finish) and exit.
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { ConfigError, createLogger, loadConfig } from '@tiermail/core';
import { startRelayService, type RelayRole } from './service.js';

const { values } = parseArgs({
  options: { config: { type: 'string', short: 'c' }, host: { type: 'string' } },
  strict: true,
});

let loaded;
try {
  loaded = loadConfig({ ...(values.config ? { file: values.config } : {}), ...(values.host ? { host: values.host } : {}), env: process.env });
} catch (err) {
  process.stderr.write(`tiermail-relay: ${err instanceof ConfigError ? err.message : String(err)}\n`);
  process.exit(1);
}
const { config } = loaded;
const host = loaded.host ?? 'localhost';
const logger = createLogger({ service: 'relay', host, level: config.log.level });
const smtpWorkers = config.relay.workers || availableParallelism();
const DRAIN_MS = 30000;
// Not TIERMAIL_*: those name config keys, and the loader refuses unknown ones.
const ROLE_ENV = 'TM_RELAY_WORKER_ROLE';

if (cluster.isPrimary) {
  let stopping = false;
  const recentDeaths: number[] = [];
  const roles = new Map<number, RelayRole>();
  const fork = (role: RelayRole): void => {
    const w = cluster.fork({ [ROLE_ENV]: role });
    roles.set(w.id, role);
  };
  for (let i = 0; i < smtpWorkers; i += 1) fork('smtp');
  fork('jobs');
  cluster.on('exit', (worker, code, signal) => {
    const role = roles.get(worker.id) ?? 'smtp';
    roles.delete(worker.id);
    if (stopping) return;
    logger.error({ pid: worker.process.pid, role, code, signal }, 'relay worker died; starting another');
    const now = Date.now();
    recentDeaths.push(now);
    while (recentDeaths.length && (recentDeaths[0] ?? 0) < now - 60000) recentDeaths.shift();
    // A worker that dies at once every time (bad disk, bad config) must not spin the CPU.
    setTimeout(() => fork(role), recentDeaths.length > (smtpWorkers + 1) * 3 ? 5000 : 100);
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
  logger.info({ smtpWorkers }, 'relay primary started');
} else {
  const role: RelayRole = process.env[ROLE_ENV] === 'jobs' ? 'jobs' : 'smtp';
  const service = await startRelayService({ config, host, logger: logger.child({ role }), role });
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
