#!/usr/bin/env node
// The watcher: `node packages/watcher/dist/main.js -c FILE --host NAME`. Starts the host's
// daemons and services (services.ts) in order, probes and restarts them (supervisor.ts) and
// their groups, checks disks and the relay queue, samples the tiers' metrics for the charts
// (history.ts), serves the status page and API (http.ts) and its own /metrics, and on
// SIGTERM/SIGINT stops everything in reverse order, each drained.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadServiceConfig, startMetricsServer, type MetricsServer } from '@tiermail/core';
import { AlarmSink } from './alarms.js';
import { diskReadings, watchedPaths, type DiskReading } from './checks.js';
import { History } from './history.js';
import { startStatusServer } from './http.js';
import { servicesFor } from './services.js';
import { Supervised, type WatcherControl } from './supervisor.js';
import { watcherMetrics } from './watcher-metrics.js';

const { config, host, file, logger } = loadServiceConfig('watcher');
const w = config.watcher;
const configFile = resolve(file);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const roles = config.hosts[host]?.roles ?? [];
let disks: DiskReading[] = [];
const metrics = watcherMetrics(host, () => services.map((s) => s.status()), () => disks);
const alarms = new AlarmSink(config, host, logger, (a) => metrics.alarm(a.kind));
const control: WatcherControl = { maintenance: false };

/** A service restarted after a failure takes the rest of its group with it. */
const restartGroup = (name: string): void => {
  for (const group of w.groups.filter((g) => g.includes(name))) {
    for (const other of services.filter((s) => s.spec.name !== name && group.includes(s.spec.name))) {
      logger.warn({ service: other.spec.name, because: name }, 'watcher: restarting with its group');
      void other.restart();
    }
  }
};
const services = servicesFor(config, host, root, configFile).map(
  (s) => new Supervised(s, config, (a) => alarms.raise(a), logger, control, restartGroup),
);
const history = new History(w.checkIntervalMs);
let stopping = false;

const http = await startStatusServer(w.listen.host, w.listen.port, {
  status: () => ({ host, maintenance: control.maintenance, services: services.map((s) => s.status()), alarms: alarms.recent, disks }),
  history: () => ({ intervalMs: w.checkIntervalMs, samples: history.samples }),
  setMaintenance(on) {
    control.maintenance = on;
    alarms.paused = on;
    logger.warn({ maintenance: on }, 'watcher: maintenance mode changed');
    if (!on) for (const s of services) s.resume();
  },
  async restart(name) {
    const chosen = name ? services.filter((s) => s.spec.name === name) : services;
    if (chosen.length === 0) return false;
    if (chosen.length === 1) {
      await chosen[0]!.restart();
      return true;
    }
    // All of them: stop in reverse, start in order, as at start-up.
    for (const s of [...chosen].reverse()) await s.stop();
    for (const s of chosen) {
      s.restarts++;
      s.start();
    }
    return true;
  },
  stop: () => void stop(),
});
let metricsServer: MetricsServer | undefined;
if (config.metrics.enabled) {
  startMetricsServer(metrics.registry, config.metrics.listen.host, config.metrics.listen.port).then(
    (m) => (metricsServer = m),
    (err: unknown) => logger.error({ err }, 'watcher metrics not served'),
  );
}
logger.info({ port: http.port, services: services.map((s) => s.spec.name) }, 'watcher started');
// Dependency order: each one answering its probes before the next starts (the directory and
// Redis before the tiers), but a slow one does not keep the rest down for ever.
for (const s of services) {
  if (stopping) break;
  s.start();
  if (!(await s.ready(w.startTimeoutMs))) logger.warn({ service: s.spec.name }, 'watcher: not answering yet; starting the next service anyway');
}

// Disks, the relay queue and the chart samples, every checkIntervalMs.
const paths = watchedPaths(config, host);
// Raised when a condition starts, logged when it clears: not once a minute while it lasts.
const active = new Set<string>();
const condition = (key: string, on: boolean, raise: () => void): void => {
  if (on && !active.has(key)) {
    active.add(key);
    raise();
  } else if (!on && active.delete(key)) {
    logger.info({ condition: key }, 'watcher: condition cleared');
  }
};
const check = async (): Promise<void> => {
  disks = await diskReadings(paths);
  for (const d of disks) {
    condition(`disk:${d.path}`, d.freePercent < w.diskFreePercent, () =>
      alarms.raise({ service: 'disk', kind: 'disk-low', text: `${d.what} (${d.path}): ${d.freePercent.toFixed(1)}% free, under ${w.diskFreePercent}%` }),
    );
  }
  const s = await history.sample(config, roles);
  const queued = s.queue.lmtp + s.queue.smtp;
  condition('queue', w.queueAlarm > 0 && queued > w.queueAlarm, () =>
    alarms.raise({ service: 'relay', kind: 'queue-high', text: `${queued} delivery jobs queued (lmtp ${s.queue.lmtp}, smtp ${s.queue.smtp}), over ${w.queueAlarm}` }),
  );
};
const checkTimer = setInterval(() => void check().catch((err: unknown) => logger.warn({ err }, 'watcher: checks failed')), w.checkIntervalMs);
setTimeout(() => void check().catch(() => undefined), Math.min(5000, w.checkIntervalMs)).unref();

const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  clearInterval(checkTimer);
  logger.info('watcher: stopping services in reverse order');
  for (const s of [...services].reverse()) await s.stop();
  http.server.close();
  await metricsServer?.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
