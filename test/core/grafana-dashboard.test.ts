// deploy/grafana/tiermail.json only asks for metrics the services really expose: every
// tiermail_* name in its queries is registered somewhere in packages/*/src (histograms with
// their _bucket/_count/_sum series). A renamed metric breaks this test, not a dashboard at 3 a.m.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../harness/paths.js';

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('every metric in the Grafana dashboard is registered by a service', () => {
  const registered = new Set<string>();
  for (const pkg of readdirSync(join(repoRoot, 'packages'))) {
    const src = join(repoRoot, 'packages', pkg, 'src');
    try {
      statSync(src);
    } catch {
      continue;
    }
    for (const f of sources(src)) for (const m of readFileSync(f, 'utf8').matchAll(/name: '(tiermail_[a-z0-9_]+)'/g)) registered.add(m[1]!);
  }
  assert.ok(registered.size > 15, [...registered].join(' '));
  const dash = JSON.parse(readFileSync(join(repoRoot, 'deploy', 'grafana', 'tiermail.json'), 'utf8')) as {
    panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
  };
  assert.ok(dash.panels.length >= 10);
  const used = new Set<string>();
  for (const p of dash.panels) {
    assert.ok(p.targets.length > 0, p.title);
    for (const t of p.targets) for (const m of t.expr.matchAll(/tiermail_[a-z0-9_]+/g)) used.add(m[0].replace(/_(bucket|count|sum)$/, ''));
  }
  const unknown = [...used].filter((m) => !registered.has(m));
  assert.deepEqual(unknown, []);
  // Each tier is on the dashboard.
  for (const m of ['tiermail_relay_queue_jobs', 'tiermail_imap_connections', 'tiermail_mmp_connections', 'tiermail_watcher_service_up']) assert.ok(used.has(m), m);
});
