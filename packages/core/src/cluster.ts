// The node:cluster shape every tiermail service shares (store, relay, MMP): a primary that
// forks its workers (each with a role), replaces one that dies (slower when they keep dying,
// so a broken disk or config does not spin the CPU), and on SIGTERM/SIGINT asks every worker
// to drain, then exits when the last one has gone or the drain time is up; and a worker that
// runs its service until told to drain. The primary handles signals; a worker run alone (no
// primary) still stops cleanly on SIGTERM.
import cluster from 'node:cluster';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from './config/index.js';
import { createLogger, type Logger } from './log/index.js';

// Not TIERMAIL_*: those name config keys, and the loader refuses unknown ones.
const ROLE_ENV = 'TM_WORKER_ROLE';

export interface ClusterPrimaryOptions {
  service: string;
  logger: Logger;
  /** Roles to fork, one entry per worker, e.g. ['smtp', 'smtp', 'jobs']. */
  roles: string[];
  drainMs: number;
}

export function runClusterPrimary(opts: ClusterPrimaryOptions): void {
  const { logger } = opts;
  let stopping = false;
  const recentDeaths: number[] = [];
  const roles = new Map<number, string>();
  const fork = (role: string): void => {
    const w = cluster.fork({ [ROLE_ENV]: role });
    roles.set(w.id, role);
  };
  for (const role of opts.roles) fork(role);
  cluster.on('exit', (worker, code, signal) => {
    const role = roles.get(worker.id) ?? opts.roles[0]!;
    roles.delete(worker.id);
    if (stopping) return;
    logger.error({ pid: worker.process.pid, role, code, signal }, `${opts.service} worker died; starting another`);
    const now = Date.now();
    recentDeaths.push(now);
    while (recentDeaths.length && (recentDeaths[0] ?? 0) < now - 60000) recentDeaths.shift();
    setTimeout(() => fork(role), recentDeaths.length > opts.roles.length * 3 ? 5000 : 100);
  });
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping: draining workers');
    for (const w of Object.values(cluster.workers ?? {})) w?.send('drain');
    const deadline = setTimeout(() => process.exit(0), opts.drainMs + 5000);
    deadline.unref();
    cluster.on('exit', () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** The role the primary gave this worker (the first role when run alone). */
export function workerRole<R extends string>(known: readonly R[]): R {
  const r = process.env[ROLE_ENV];
  return known.find((k) => k === r) ?? known[0]!;
}

/** Runs in a worker: drains the service on the primary's word (or SIGTERM) and exits. */
export function runClusterWorker(service: { stop(graceMs: number): Promise<void> }, drainMs: number): void {
  let draining = false;
  const drain = async (): Promise<void> => {
    if (draining) return;
    draining = true;
    await service.stop(drainMs);
    process.exit(0);
  };
  process.on('message', (msg) => {
    if (msg === 'drain') void drain();
  });
  process.on('SIGTERM', () => void drain());
  process.on('SIGINT', () => undefined);
}

/**
 * What every service's main does first: `-c FILE` and `--host NAME` from the command line,
 * the config loaded and checked (a bad config ends the process with the message naming the
 * key), and the service's logger.
 */
export function loadServiceConfig(service: string): { config: Config; host: string; file: string; logger: Logger } {
  const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' }, host: { type: 'string' } }, strict: true });
  try {
    const loaded = loadConfig({ ...(values.config ? { file: values.config } : {}), ...(values.host ? { host: values.host } : {}), env: process.env });
    const host = loaded.host ?? 'localhost';
    return { config: loaded.config, host, file: loaded.file, logger: createLogger({ service, host, level: loaded.config.log.level }) };
  } catch (err) {
    process.stderr.write(`tiermail-${service}: ${err instanceof ConfigError ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
