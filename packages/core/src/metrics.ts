// A prom-client registry per process and a small HTTP server for /metrics.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry, collectDefaultMetrics } from 'prom-client';

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

/** Serve GET /metrics (Prometheus text format) and GET /healthz on host:port. */
export async function startMetricsServer(registry: Registry, host: string, port: number): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && url === '/metrics') {
      registry
        .metrics()
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
