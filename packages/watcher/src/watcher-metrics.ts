// The watcher's own /metrics (metrics.listen, 9100: the host view): each service's state,
// restarts and last probe latency, alarms by kind, free disk space, read from the watcher's
// state when Prometheus scrapes.
import { Counter, createRegistry, Gauge, type Registry } from '@tiermail/core';
import type { DiskReading } from './checks.js';
import type { ServiceStatus } from './supervisor.js';

export interface WatcherMetrics {
  registry: Registry;
  alarm(kind: string): void;
}

export function watcherMetrics(host: string, services: () => ServiceStatus[], disks: () => DiskReading[]): WatcherMetrics {
  const registry = createRegistry({ service: 'watcher', host });
  const registers = [registry];
  new Gauge({
    name: 'tiermail_watcher_service_up',
    help: '1 when the service is running and answering its probes',
    labelNames: ['service'],
    registers,
    collect() {
      for (const s of services()) this.set({ service: s.name }, s.state === 'running' && (s.lastProbe?.ok ?? true) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tiermail_watcher_restarts',
    help: 'restarts of the service since the watcher started',
    labelNames: ['service'],
    registers,
    collect() {
      for (const s of services()) this.set({ service: s.name }, s.restarts);
    },
  });
  new Gauge({
    name: 'tiermail_watcher_probe_seconds',
    help: 'duration of the last probe',
    labelNames: ['service'],
    registers,
    collect() {
      for (const s of services()) if (s.lastProbe) this.set({ service: s.name }, s.lastProbe.ms / 1000);
    },
  });
  new Gauge({
    name: 'tiermail_watcher_disk_free_percent',
    help: 'free space on the file system of a store partition, the spool or the logs',
    labelNames: ['what'],
    registers,
    collect() {
      for (const d of disks()) this.set({ what: d.what }, Math.round(d.freePercent * 10) / 10);
    },
  });
  const alarms = new Counter({ name: 'tiermail_watcher_alarms_total', help: 'alarms raised, by kind', labelNames: ['kind'], registers });
  return { registry, alarm: (kind) => alarms.inc({ kind }) };
}
