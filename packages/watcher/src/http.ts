// The watcher's control surface on loopback HTTP: GET /status (JSON for `tiermail status` and
// scripts), GET /history (the chart samples), POST /restart[?service=NAME], POST /stop,
// POST /maintenance?on=1|0, and GET / (status-page.ts: a page for a person).
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import type { DiskReading } from './checks.js';
import type { Sample } from './history.js';
import { statusPage } from './status-page.js';
import type { Alarm, ServiceStatus } from './supervisor.js';

export interface WatcherStatus {
  host: string;
  maintenance: boolean;
  services: ServiceStatus[];
  alarms: Alarm[];
  disks: DiskReading[];
}

export interface StatusHandlers {
  status(): WatcherStatus;
  history(): { intervalMs: number; samples: Sample[] };
  setMaintenance(on: boolean): void;
  /** Restarts one service (or all, in order); false when there is no such service. */
  restart(service: string | null): Promise<boolean>;
  stop(): void;
}

/** uPlot, the chart library, served from the installed package (no CDN: works offline). */
function uplotAssets(): { js: Buffer; css: Buffer } | null {
  try {
    const req = createRequire(import.meta.url);
    const dist = join(dirname(req.resolve('uplot')), '..', 'dist');
    return { js: readFileSync(join(dist, 'uPlot.iife.min.js')), css: readFileSync(join(dist, 'uPlot.min.css')) };
  } catch {
    return null;
  }
}

function json(res: import('node:http').ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export async function startStatusServer(host: string, port: number, h: StatusHandlers): Promise<{ server: Server; port: number }> {
  const assets = uplotAssets();
  const server = createServer((req, res) => {
    const [url, query = ''] = (req.url ?? '/').split('?');
    const params = new URLSearchParams(query);
    if (req.method === 'POST' && url === '/stop') {
      res.writeHead(202, { 'content-type': 'text/plain' });
      res.end('stopping\n');
      h.stop();
    } else if (req.method === 'POST' && url === '/restart') {
      const name = params.get('service');
      h.restart(name).then(
        (ok) => (ok ? json(res, 200, h.status()) : json(res, 404, { error: `no service ${name} on this host` })),
        (err: unknown) => json(res, 500, { error: (err as Error).message }),
      );
    } else if (req.method === 'POST' && url === '/maintenance') {
      const on = params.get('on');
      if (on !== '1' && on !== '0') {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end('expected /maintenance?on=1 or ?on=0\n');
        return;
      }
      h.setMaintenance(on === '1');
      json(res, 200, h.status());
    } else if (req.method === 'GET' && url === '/status') {
      json(res, 200, h.status());
    } else if (req.method === 'GET' && url === '/history') {
      json(res, 200, h.history());
    } else if (req.method === 'GET' && url === '/uplot.js' && assets) {
      res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'max-age=3600' });
      res.end(assets.js);
    } else if (req.method === 'GET' && url === '/uplot.css' && assets) {
      res.writeHead(200, { 'content-type': 'text/css', 'cache-control': 'max-age=3600' });
      res.end(assets.css);
    } else if (req.method === 'GET' && url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(statusPage(h.status(), assets !== null));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: try / or /status\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
