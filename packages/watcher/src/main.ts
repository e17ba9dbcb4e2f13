#!/usr/bin/env node
// The watcher: `node packages/watcher/dist/main.js -c FILE --host NAME`. Starts the host's
// services (store, relay, MMP: services.ts) in order, probes and restarts them
// (supervisor.ts), serves the status page and API (http.ts), and on SIGTERM/SIGINT stops them
// in reverse order, each drained.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadServiceConfig } from '@tiermail/core';
import { startStatusServer } from './http.js';
import { servicesFor } from './services.js';
import { AlarmSink } from './alarms.js';
import { Supervised, type WatcherControl } from './supervisor.js';

const { config, host, file, logger } = loadServiceConfig('watcher');
const configFile = resolve(file);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const alarms = new AlarmSink(config, host, logger);
const control: WatcherControl = { maintenance: false };
const services = servicesFor(config, host, root).map((s) => new Supervised(s, config, configFile, host, (a) => alarms.raise(a), logger, control));
const http = await startStatusServer(
  config.watcher.listen.host,
  config.watcher.listen.port,
  () => ({ host, maintenance: control.maintenance, services: services.map((s) => s.status()), alarms: alarms.recent }),
  (on) => {
    control.maintenance = on;
    alarms.paused = on;
    logger.warn({ maintenance: on }, 'watcher: maintenance mode changed');
    if (!on) for (const s of services) s.resume();
  },
  () => void stop(),
);
logger.info({ port: http.port, services: services.map((s) => s.spec.name) }, 'watcher started');
for (const s of services) s.start();

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  logger.info('watcher: stopping services in reverse order');
  for (const s of [...services].reverse()) await s.stop();
  http.server.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
