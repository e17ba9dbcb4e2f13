#!/usr/bin/env node
// The watcher: `node packages/watcher/dist/main.js -c FILE --host NAME`. Starts the host's
// services (store, relay, MMP: services.ts) in order, probes and restarts them
// (supervisor.ts), serves the status page and API (http.ts), and on SIGTERM/SIGINT stops them
// in reverse order, each drained.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, createLogger, loadConfig } from '@tiermail/core';
import { startStatusServer } from './http.js';
import { servicesFor } from './services.js';
import { Supervised, type Alarm } from './supervisor.js';

const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' }, host: { type: 'string' } }, strict: true });
let loaded;
try {
  loaded = loadConfig({ ...(values.config ? { file: values.config } : {}), ...(values.host ? { host: values.host } : {}), env: process.env });
} catch (err) {
  process.stderr.write(`tiermail-watcher: ${err instanceof ConfigError ? err.message : String(err)}\n`);
  process.exit(1);
}
const { config } = loaded;
const host = loaded.host ?? 'localhost';
const configFile = resolve(loaded.file);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const logger = createLogger({ service: 'watcher', host, level: config.log.level });
const alarms: Alarm[] = [];
const raise = (a: Omit<Alarm, 'at'>): void => {
  const alarm = { ...a, at: new Date().toISOString() };
  alarms.push(alarm);
  if (alarms.length > 200) alarms.shift();
  logger.warn(alarm, 'watcher alarm');
};
const services = servicesFor(config, host, root).map((s) => new Supervised(s, config, configFile, host, raise, logger));
const http = await startStatusServer(config.watcher.listen.host, config.watcher.listen.port, () => ({ host, services: services.map((s) => s.status()), alarms }));
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
