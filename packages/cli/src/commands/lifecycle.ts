// `tiermail start | stop | restart [service] | status [service] [--json] | maintenance on|off`:
// the host's watcher through its
// loopback HTTP API (watcher.listen); start launches it in the background when none answers.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { UsageError, type CliContext } from '../context.js';

interface Status {
  host: string;
  services: Array<{ name: string; state: string; pid: number | null; startedAt: string | null; restarts: number; lastProbe: { ok: boolean; ms: number; error?: string } | null }>;
  alarms: Array<{ at: string; service: string; kind: string; text: string }>;
}

export function registerLifecycle(program: Command, ctx: () => CliContext): void {
  program
    .command('status [service]')
    .description("the host's services as its watcher sees them: state, pid, uptime, restarts, last probe, alarms")
    .action(async (service: string | undefined) => {
      const c = ctx();
      const { host, port } = c.load().config.watcher.listen;
      let st: Status;
      try {
        const res = await fetch(`http://${host}:${port}/status`);
        st = (await res.json()) as Status;
      } catch (err) {
        throw new UsageError(`no watcher answers on ${host}:${port} (${(err as Error).message}); is it running?`, 1);
      }
      if (service) {
        if (!st.services.some((s) => s.name === service)) {
          throw new UsageError(`no service ${service} on ${st.host} (there are: ${st.services.map((s) => s.name).join(', ')})`, 1);
        }
        st = { ...st, services: st.services.filter((s) => s.name === service), alarms: st.alarms.filter((a) => a.service === service) };
      }
      c.print(st, () => {
        const now = Date.now();
        const rows = st.services.map((s) => {
          const up = s.startedAt ? `${Math.round((now - Date.parse(s.startedAt)) / 1000)}s` : '-';
          const probe = s.lastProbe ? (s.lastProbe.ok ? `ok ${s.lastProbe.ms}ms` : `FAILED ${s.lastProbe.error ?? ''}`) : '-';
          return `${s.name.padEnd(8)} ${s.state.padEnd(11)} pid ${String(s.pid ?? '-').padEnd(8)} up ${up.padEnd(8)} restarts ${String(s.restarts).padEnd(3)} probe ${probe}`;
        });
        const alarms = st.alarms.slice(-5).map((a) => `alarm ${a.at} ${a.service} ${a.kind}: ${a.text}`);
        return [`host ${st.host}`, ...rows, ...alarms].join('\n');
      });
      if (st.services.some((s) => s.state !== 'running')) process.exitCode = 1;
    });

  program
    .command('restart [service]')
    .description('drain and start again one service (or all of them, in order) through the watcher')
    .action(async (service: string | undefined) => {
      const c = ctx();
      const { host, port } = c.load().config.watcher.listen;
      let res: Response;
      try {
        res = await fetch(`http://${host}:${port}/restart${service ? `?service=${encodeURIComponent(service)}` : ''}`, { method: 'POST' });
      } catch (err) {
        throw new UsageError(`no watcher answers on ${host}:${port} (${(err as Error).message}); is it running?`, 1);
      }
      const body = (await res.json()) as Status & { error?: string };
      if (res.status === 404) throw new UsageError(body.error ?? `no service ${service}`, 1);
      if (!res.ok) throw new UsageError(`restart failed: ${body.error ?? res.status}`, 1);
      c.print(body, () => `${service ?? 'every service'} restarted`);
    });

  program
    .command('maintenance <on|off>')
    .description('maintenance mode: probes keep running, restarts and alarm messages are paused')
    .action(async (mode: string) => {
      const c = ctx();
      if (mode !== 'on' && mode !== 'off') throw new UsageError('maintenance on or maintenance off');
      const { host, port } = c.load().config.watcher.listen;
      try {
        const res = await fetch(`http://${host}:${port}/maintenance?on=${mode === 'on' ? 1 : 0}`, { method: 'POST' });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
      } catch (err) {
        throw new UsageError(`no watcher answers on ${host}:${port} (${(err as Error).message}); is it running?`, 1);
      }
      c.print({ maintenance: mode === 'on' }, () => `maintenance ${mode}`);
    });

  program
    .command('start')
    .description("start this host's watcher in the background (it starts the host's services)")
    .action(async () => {
      const c = ctx();
      const loaded = c.load();
      const { host, port } = loaded.config.watcher.listen;
      if (await answers(host, port)) {
        c.print({ started: false }, () => `a watcher already answers on ${host}:${port}`);
        return;
      }
      mkdirSync(loaded.config.paths.log, { recursive: true });
      const out = openSync(join(loaded.config.paths.log, 'watcher.log'), 'a');
      const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'watcher', 'dist', 'main.js');
      const child = spawn(process.execPath, [script, '-c', loaded.file, ...(loaded.host ? ['--host', loaded.host] : [])], { detached: true, stdio: ['ignore', out, out] });
      child.unref();
      const until = Date.now() + 30000;
      while (!(await answers(host, port))) {
        if (Date.now() > until) throw new UsageError(`the watcher did not come up; see ${join(loaded.config.paths.log, 'watcher.log')}`, 1);
        await new Promise((r) => setTimeout(r, 200));
      }
      c.print({ started: true, pid: child.pid }, () => `watcher started (pid ${child.pid}); status: tiermail status`);
    });

  program
    .command('stop')
    .description("stop this host's services (each drained) and its watcher")
    .action(async () => {
      const c = ctx();
      const { config } = c.load();
      const { host, port } = config.watcher.listen;
      try {
        await fetch(`http://${host}:${port}/stop`, { method: 'POST' });
      } catch (err) {
        throw new UsageError(`no watcher answers on ${host}:${port} (${(err as Error).message}); nothing to stop`, 1);
      }
      const until = Date.now() + config.watcher.stopTimeoutMs * 3 + 10000;
      while (await answers(host, port)) {
        if (Date.now() > until) throw new UsageError('the watcher is still answering; see its log', 1);
        await new Promise((r) => setTimeout(r, 200));
      }
      c.print({ stopped: true }, () => 'stopped');
    });
}

async function answers(host: string, port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://${host}:${port}/status`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

