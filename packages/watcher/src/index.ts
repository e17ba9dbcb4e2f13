// The watcher: supervises the services of one host.
export { probe, type ProbeKind, type ProbeResult, type ProbeTarget } from './probes.js';
export { servicesFor, type ServiceSpec } from './services.js';
export type { Alarm, ServiceState, ServiceStatus } from './supervisor.js';
export type { WatcherStatus } from './http.js';
