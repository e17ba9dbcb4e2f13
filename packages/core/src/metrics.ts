// A prom-client registry per process and a small HTTP server for /metrics. A node:cluster
// service registers its metrics in prom-client's global registry in every worker; its primary
// serves the sum over the workers (AggregatorRegistry asks each worker over IPC).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AggregatorRegistry, Registry, collectDefaultMetrics, register } from 'prom-client';

export { Counter, Gauge, Histogram, Summary, Registry } from 'prom-client';

export function createRegistry(labels: Record<string, string> = {}, withDefaults = true): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  if (withDefaults) collectDefaultMetrics({ register: registry, prefix: 'tiermail_' });
  return registry;
}

export interface MetricsServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** What /metrics serves: one registry, or the cluster sum. */
interface MetricsSource {
  contentType: string;
  collect(): Promise<string>;
}

/** In a cluster worker: default process metrics into the global registry, once. */
let workerDefaults = false;
export function workerMetrics(labels: Record<string, string> = {}): Registry {
  if (!workerDefaults) {
    register.setDefaultLabels(labels);
    collectDefaultMetrics({ prefix: 'tiermail_' });
    // Constructing one installs the worker side of prom-client's IPC (answering the
    // primary's requests); without it the primary's /metrics times out.
    new AggregatorRegistry();
    workerDefaults = true;
  }
  return register;
}

/** In a cluster primary: GET /metrics answers the sum of every worker's global registry. */
export async function startClusterMetricsServer(host: string, port: number): Promise<MetricsServer> {
  const aggregator = new AggregatorRegistry();
  return serve({ contentType: aggregator.contentType, collect: () => aggregator.clusterMetrics() }, host, port);
}

/** Serve GET /metrics (Prometheus text format) and GET /healthz on host:port. */
export async function startMetricsServer(registry: Registry, host: string, port: number): Promise<MetricsServer> {
  return serve({ contentType: registry.contentType, collect: () => registry.metrics() }, host, port);
}

async function serve(source: MetricsSource, host: string, port: number): Promise<MetricsServer> {
  const registry = source;
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && url === '/metrics') {
      registry
        .collect()
        .then((body) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(body);
        })
        .catch((err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics collection failed: ${err instanceof Error ? err.message : String(err)}\n`);
        });
      return;
    }
    if (req.method === 'GET' && url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: try /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    server,
    port: actual,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
