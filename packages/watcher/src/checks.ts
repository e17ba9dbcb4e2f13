// Host checks beside the probes: free space on the store's partitions and the relay's spool
// (statfs), and the relay's queue (its /metrics: delivery jobs waiting). Each check returns
// readings; the caller raises disk-low and queue-high alarms from them.
import { statfs } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { Config } from '@tiermail/core';

export interface DiskReading {
  what: string;
  path: string;
  freePercent: number;
  freeBytes: number;
}

/** The directories whose file systems must not fill up on this host. */
export function watchedPaths(config: Config, host: string): Array<{ what: string; path: string }> {
  const roles = config.hosts[host]?.roles ?? [];
  const out: Array<{ what: string; path: string }> = [];
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(config.paths.var, p));
  if (roles.includes('store')) {
    for (const [name, p] of Object.entries(config.store.partitions)) out.push({ what: `store partition ${name}`, path: abs(p.path) });
  }
  if (roles.includes('relay')) out.push({ what: 'relay spool', path: abs(config.relay.spool) });
  out.push({ what: 'log directory', path: config.paths.log });
  return out;
}

export async function diskReadings(paths: Array<{ what: string; path: string }>): Promise<DiskReading[]> {
  const out: DiskReading[] = [];
  for (const p of paths) {
    try {
      const s = await statfs(p.path);
      const total = s.blocks * s.bsize;
      const free = s.bavail * s.bsize;
      out.push({ ...p, freeBytes: free, freePercent: total > 0 ? (free / total) * 100 : 100 });
    } catch {
      // Not created yet (a store that never received mail): nothing to fill.
    }
  }
  return out;
}

/** Prometheus text → sums by metric name and the labels asked for (other labels summed over). */
export function parseMetrics(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const out: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([^ ]+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const value = Number(m[4]);
    if (Number.isFinite(value)) out.push({ name: m[1]!, labels, value });
  }
  return out;
}

export async function scrape(host: string, port: number, timeoutMs = 3000): Promise<ReturnType<typeof parseMetrics> | null> {
  try {
    const res = await fetch(`http://${host}:${port}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return null;
    return parseMetrics(await res.text());
  } catch {
    return null;
  }
}

export function sum(samples: ReturnType<typeof parseMetrics>, name: string, where: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}
