// The watcher's control surface on loopback HTTP: GET /status (JSON for `tiermail status` and
// scripts) and GET / (a page for a person: every service with its state, pid, uptime,
// restarts, last probe and its latency, and the recent alarms).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Alarm, ServiceStatus } from './supervisor.js';

export interface WatcherStatus {
  host: string;
  maintenance: boolean;
  services: ServiceStatus[];
  alarms: Alarm[];
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function page(st: WatcherStatus): string {
  const now = Date.now();
  const rows = st.services
    .map((s) => {
      const up = s.startedAt ? `${Math.round((now - Date.parse(s.startedAt)) / 1000)} s` : '-';
      const p = s.lastProbe ? `${s.lastProbe.ok ? 'ok' : esc(s.lastProbe.error ?? 'failed')} in ${s.lastProbe.ms} ms (${esc(s.lastProbe.target)})` : '-';
      return `<tr class="${esc(s.state)}"><td>${esc(s.name)}</td><td>${esc(s.state)}</td><td>${s.pid ?? '-'}</td><td>${up}</td><td>${s.restarts}</td><td>${p}</td></tr>`;
    })
    .join('');
  const alarms = st.alarms
    .slice(-20)
    .reverse()
    .map((a) => `<li>${esc(a.at)} <b>${esc(a.service)}</b> ${esc(a.kind)}: ${esc(a.text)}</li>`)
    .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>tiermail ${esc(st.host)}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}.running td:nth-child(2){color:green}.failed td:nth-child(2),.restarting td:nth-child(2){color:#b00}</style></head>
<body><h1>tiermail on ${esc(st.host)}</h1>${st.maintenance ? '<p><b>Maintenance mode: probes run, restarts and alarm messages are paused.</b></p>' : ''}<table><tr><th>service</th><th>state</th><th>pid</th><th>uptime</th><th>restarts</th><th>last probe</th></tr>${rows}</table>
<h2>Alarms</h2><ul>${alarms || '<li>none</li>'}</ul></body></html>`;
}

export async function startStatusServer(
  host: string,
  port: number,
  status: () => WatcherStatus,
  setMaintenance: (on: boolean) => void,
  stop: () => void,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const [url, query = ''] = (req.url ?? '/').split('?');
    if (req.method === 'POST' && url === '/stop') {
      res.writeHead(202, { 'content-type': 'text/plain' });
      res.end('stopping\n');
      stop();
    } else if (req.method === 'POST' && url === '/maintenance') {
      const on = new URLSearchParams(query).get('on');
      if (on !== '1' && on !== '0') {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end('expected /maintenance?on=1 or ?on=0\n');
        return;
      }
      setMaintenance(on === '1');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(status()));
    } else if (req.method === 'GET' && url === '/status') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(status()));
    } else if (req.method === 'GET' && url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page(status()));
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
