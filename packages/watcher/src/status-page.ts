// The status page for a person at http://127.0.0.1:2080/: every service with its state, pid,
// uptime, restarts and last probe, free disk space, open alarms, and charts of the last hour
// (queue depth per channel, deliveries per minute, connections per tier) drawn by uPlot from
// GET /history. Server-rendered; the only script draws the charts, so the table reads fine
// without it.
import type { WatcherStatus } from './http.js';

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function uptime(startedAt: string | null, now: number): string {
  if (!startedAt) return '-';
  const s = Math.round((now - Date.parse(startedAt)) / 1000);
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

// Draws three charts from /history; series with no data on this host are left out.
const CHART_SCRIPT = `
(async () => {
  const res = await fetch('/history');
  const h = await res.json();
  const t = h.samples.map((s) => Math.round(s.at / 1000));
  const draw = (id, title, series) => {
    const el = document.getElementById(id);
    const used = series.filter((s) => s.values.some((v) => v !== null));
    if (t.length < 2 || used.length === 0) { el.textContent = title + ': no samples yet (one every ' + Math.round(h.intervalMs / 1000) + ' s)'; return; }
    new uPlot({ title, width: 460, height: 200, series: [{}, ...used.map((s) => ({ label: s.label, stroke: s.color }))] },
      [t, ...used.map((s) => s.values)], el);
  };
  const pick = (f) => h.samples.map(f);
  draw('chart-queue', 'queue depth (jobs)', [
    { label: 'lmtp', color: '#1f77b4', values: pick((s) => s.queue.lmtp) },
    { label: 'smtp', color: '#ff7f0e', values: pick((s) => s.queue.smtp) }]);
  draw('chart-deliveries', 'deliveries per minute', [
    { label: 'lmtp', color: '#2ca02c', values: pick((s) => s.deliveredPerMinute.lmtp) },
    { label: 'smtp', color: '#d62728', values: pick((s) => s.deliveredPerMinute.smtp) }]);
  draw('chart-connections', 'open connections', [
    { label: 'relay', color: '#9467bd', values: pick((s) => s.connections.relay) },
    { label: 'store', color: '#8c564b', values: pick((s) => s.connections.store) },
    { label: 'mmp', color: '#e377c2', values: pick((s) => s.connections.mmp) }]);
})().catch((e) => { document.getElementById('charts').append(' (charts unavailable: ' + e.message + ')'); });
`;

export function statusPage(st: WatcherStatus, charts: boolean): string {
  const now = Date.now();
  const rows = st.services
    .map((s) => {
      const p = s.lastProbe ? `${s.lastProbe.ok ? 'ok' : esc(s.lastProbe.error ?? 'failed')} in ${s.lastProbe.ms} ms (${esc(s.lastProbe.target)})` : '-';
      return `<tr class="svc ${esc(s.state)}" data-service="${esc(s.name)}"><td>${esc(s.name)}</td><td class="state">${esc(s.state)}</td><td>${s.pid ?? '-'}</td><td>${uptime(s.startedAt, now)}</td><td>${s.restarts}</td><td>${p}</td></tr>`;
    })
    .join('');
  const disks = st.disks.map((d) => `<tr><td>${esc(d.what)}</td><td>${esc(d.path)}</td><td>${d.freePercent.toFixed(1)}%</td></tr>`).join('');
  const alarms = st.alarms
    .slice(-20)
    .reverse()
    .map((a) => `<li class="alarm">${esc(a.at)} <b>${esc(a.service)}</b> ${esc(a.kind)}: ${esc(a.text)}</li>`)
    .join('');
  const chartBlock = charts
    ? `<h2>Last hour</h2><div id="charts" class="charts"><div id="chart-queue"></div><div id="chart-deliveries"></div><div id="chart-connections"></div></div>
<script src="/uplot.js"></script><script>${CHART_SCRIPT}</script>`
    : '<p>(charts need the uplot package)</p>';
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="15"><title>tiermail ${esc(st.host)}</title>
${charts ? '<link rel="stylesheet" href="/uplot.css">' : ''}
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:4px 8px}
.running .state{color:green}.failed .state,.restarting .state,.down .state{color:#b00}.charts{display:flex;flex-wrap:wrap;gap:1em}</style></head>
<body><h1>tiermail on ${esc(st.host)}</h1>${st.maintenance ? '<p class="maintenance"><b>Maintenance mode: probes run, restarts and alarm messages are paused.</b></p>' : ''}
<table id="services"><tr><th>service</th><th>state</th><th>pid</th><th>uptime</th><th>restarts</th><th>last probe</th></tr>${rows}</table>
<h2>Alarms</h2><ul id="alarms">${alarms || '<li>none</li>'}</ul>
<h2>Disks</h2><table id="disks"><tr><th>what</th><th>path</th><th>free</th></tr>${disks || '<tr><td colspan="3">not checked yet</td></tr>'}</table>
${chartBlock}</body></html>`;
}
