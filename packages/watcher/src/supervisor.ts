// One supervised service: its process (a cluster primary, in its own process group so a
// kill takes its workers too), restarts with back-off after a crash, a probe loop that
// restarts it when it stops answering, and the rule that more than maxFailures failures in
// failureWindowMs leave it down with an alarm instead of restarting forever.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Config, Logger } from '@tiermail/core';
import { probe, type ProbeResult } from './probes.js';
import type { ServiceSpec } from './services.js';

/** down: not running, left alone during maintenance; started again when maintenance ends. */
export type ServiceState = 'starting' | 'running' | 'restarting' | 'failed' | 'down' | 'stopping' | 'stopped';

/** Shared by every service of the watcher. */
export interface WatcherControl {
  maintenance: boolean;
}

export interface Alarm {
  at: string;
  service: string;
  kind: 'down' | 'restarted' | 'gave-up' | 'probe-slow' | 'probe-warn' | 'probe-failed' | 'disk-low' | 'queue-high';
  text: string;
}

export interface ServiceStatus {
  name: string;
  state: ServiceState;
  pid: number | null;
  startedAt: string | null;
  restarts: number;
  lastProbe: (ProbeResult & { target: string }) | null;
}

export class Supervised {
  private child: ChildProcess | null = null;
  state: ServiceState = 'stopped';
  restarts = 0;
  startedAt: Date | null = null;
  lastProbe: (ProbeResult & { target: string }) | null = null;
  private failures: number[] = [];
  private lastGoodProbe = Date.now();
  private probeTimer: NodeJS.Timeout | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private probing = false;
  private warned = false;

  constructor(
    readonly spec: ServiceSpec,
    private readonly config: Config,
    private readonly alarm: (a: Omit<Alarm, 'at'>) => void,
    private readonly logger: Logger,
    private readonly control: WatcherControl,
    /** Called when this service is restarted after a failure (its group restarts with it). */
    private readonly onFailureRestart: (name: string) => void = () => undefined,
  ) {}

  status(): ServiceStatus {
    return {
      name: this.spec.name,
      state: this.state,
      pid: this.child?.pid ?? null,
      startedAt: this.startedAt?.toISOString() ?? null,
      restarts: this.restarts,
      lastProbe: this.lastProbe,
    };
  }

  start(): void {
    if (this.child) return;
    this.state = 'starting';
    const child = spawn(this.spec.command, this.spec.args, { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
    child.on('error', (err) => this.logger.error({ service: this.spec.name, err: err.message }, 'watcher: cannot start'));
    this.child = child;
    this.startedAt = new Date();
    this.lastGoodProbe = Date.now();
    this.logger.info({ service: this.spec.name, pid: child.pid }, 'watcher: started');
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    this.probeTimer ??= setInterval(() => void this.probeOnce(), this.config.watcher.probeIntervalMs);
    this.probeTimer.unref();
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = null;
    if (this.state === 'stopping' || this.state === 'stopped') {
      this.state = 'stopped';
      return;
    }
    this.failed(`exited (${signal ?? `code ${code}`})`);
  }

  /** A crash or a dead probe: restart after the back-off, or give up past the limit. */
  private failed(why: string): void {
    if (this.control.maintenance) {
      // Maintenance: an operator is at work; note it, restart nothing.
      this.state = 'down';
      this.alarm({ service: this.spec.name, kind: 'down', text: `${this.spec.name} ${why} during maintenance: not restarted` });
      return;
    }
    const now = Date.now();
    this.failures = this.failures.filter((t) => t > now - this.config.watcher.failureWindowMs);
    this.failures.push(now);
    if (this.failures.length > this.config.watcher.maxFailures) {
      this.state = 'failed';
      this.stopProbes();
      this.alarm({ service: this.spec.name, kind: 'gave-up', text: `${this.spec.name} ${why}; ${this.failures.length} failures in ${this.config.watcher.failureWindowMs / 1000} s: left down` });
      return;
    }
    this.state = 'restarting';
    const backoff = this.config.watcher.restartBackoffMs;
    const wait = backoff[Math.min(this.failures.length - 1, backoff.length - 1)]!;
    this.alarm({ service: this.spec.name, kind: 'restarted', text: `${this.spec.name} ${why}; restarting in ${wait} ms` });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.restarts++;
      this.start();
      this.onFailureRestart(this.spec.name);
    }, wait);
  }

  /**
   * Waits until the service answers its probes (probing every 250 ms), at most `timeoutMs`:
   * the next service in dependency order starts only once this one is up. False on timeout.
   */
  async ready(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (this.state === 'failed' || this.state === 'stopped') return false;
      await this.probeOnce();
      if (this.state === 'running' && (this.lastProbe?.ok ?? true)) return true;
      await new Promise((r) => setTimeout(r, 250));
    }
    return false;
  }

  /** An operator's (or a group's) restart: drain, start again; not counted as a failure. */
  async restart(): Promise<void> {
    await this.stop();
    this.restarts++;
    this.start();
  }

  private async probeOnce(): Promise<void> {
    if (this.probing || this.state !== 'running' && this.state !== 'starting') return;
    this.probing = true;
    try {
      const w = this.config.watcher;
      for (const t of this.spec.probes) {
        const r = await probe(t, w.probeWarnMs);
        this.lastProbe = { ...r, target: `${t.kind}://${t.host}:${t.port}` };
        if (!r.ok) break;
      }
      const now = Date.now();
      if (this.lastProbe?.ok ?? true) {
        this.lastGoodProbe = now;
        this.warned = false;
        if (this.state === 'starting') this.state = 'running';
        if (this.lastProbe && this.lastProbe.ms > w.probeSlowMs) {
          this.alarm({ service: this.spec.name, kind: 'probe-slow', text: `${this.spec.name} answered ${this.lastProbe.target} in ${this.lastProbe.ms} ms (over ${w.probeSlowMs} ms)` });
        }
        return;
      }
      const silentMs = now - this.lastGoodProbe;
      if (this.state === 'running' && silentMs >= w.probeWarnMs && !this.warned) {
        this.warned = true;
        this.alarm({ service: this.spec.name, kind: 'probe-warn', text: `${this.spec.name} has not answered probes for ${Math.round(silentMs / 1000)} s: ${this.lastProbe?.error ?? ''}` });
      }
      if (this.state === 'running' && silentMs >= w.probeRestartMs && !this.control.maintenance) {
        this.alarm({ service: this.spec.name, kind: 'probe-failed', text: `${this.spec.name} has not answered probes for ${Math.round(silentMs / 1000)} s: restarting` });
        const child = this.child;
        this.child = null;
        if (child?.pid) kill(child.pid, 'SIGKILL');
        this.failed('stopped answering probes');
      } else if (this.state === 'starting' && silentMs >= Math.max(w.startTimeoutMs, w.probeRestartMs)) {
        this.state = 'running'; // it never came up: the next failed probe restarts it
      }
    } finally {
      this.probing = false;
    }
  }

  /** Maintenance ended: a service that went down meanwhile is started again. */
  resume(): void {
    if (this.state === 'down') {
      this.restarts++;
      this.start();
    }
  }

  private stopProbes(): void {
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = null;
  }

  /** Drains the service (SIGTERM to its group), kills it after stopTimeoutMs. */
  async stop(): Promise<void> {
    this.stopProbes();
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    this.state = 'stopping';
    if (!child?.pid || child.exitCode !== null) {
      this.state = 'stopped';
      return;
    }
    kill(child.pid, 'SIGTERM');
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const timer = setTimeout(() => kill(child.pid!, 'SIGKILL'), this.config.watcher.stopTimeoutMs);
    await exited;
    clearTimeout(timer);
    this.state = 'stopped';
  }
}

/** Signals the whole process group (the service's cluster primary and its workers). */
function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
  }
}
