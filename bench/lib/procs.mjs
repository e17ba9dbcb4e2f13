// Processes started by a benchmark: every one is tracked and, with its descendants (cluster
// workers, Dovecot's service processes), stopped at the end, on SIGTERM/SIGINT, on an error,
// or when the parent (scripts/bench.mjs) goes away. Temporary directories are removed too.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';

const children = new Set();
/** Daemons that detach themselves (Postfix's master): tracked by pid. */
const pids = new Set();
const dirs = new Set();
const cleanups = [];
let exiting = false;

/** Pids of every descendant of pid (from /proc/<pid>/task/<tid>/children). */
export function descendants(pid) {
  const out = [];
  const visit = (p) => {
    let tasks = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      let kids = '';
      try {
        kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const k of kids.split(/\s+/).filter(Boolean).map(Number)) {
        out.push(k);
        visit(k);
      }
    }
  };
  visit(pid);
  return out;
}

/** Running (a zombie, dead but not yet reaped, counts as gone). */
function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** Waits (blocking, at most maxMs) until none of pids is alive: a killed process may still be
 * finishing a write, and its files must not be removed under it. */
function waitGoneSync(pids, maxMs = 3000) {
  const until = Date.now() + maxMs;
  while (pids.some(alive) && Date.now() < until) Atomics.wait(sleepCell, 0, 0, 20);
}

function killTreeSync(pid) {
  const tree = [pid, ...descendants(pid)];
  for (const p of tree) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return tree;
}

function removeDir(d) {
  try {
    rmSync(d, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  } catch (err) {
    process.stderr.write(`could not remove ${d}: ${err instanceof Error ? err.message : String(err)}\n`);
  }
}

/** Starts a tracked process. Its output is kept (last 64 KB) for error messages. */
export function start(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let text = '';
  const keep = (d) => {
    text = (text + d).slice(-65536);
  };
  child.stdout?.setEncoding('utf8').on('data', keep);
  child.stderr?.setEncoding('utf8').on('data', keep);
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.output = () => text;
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/**
 * SIGTERM (the server's own graceful stop), then SIGKILL of the process and every descendant
 * still there after graceMs. Descendants are collected first: once the parent is gone, orphaned
 * workers could not be found through it any more.
 */
export async function stop(child, graceMs = 10000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const tree = [child.pid, ...descendants(child.pid)];
  try {
    child.kill('SIGTERM');
  } catch {
    /* gone */
  }
  let timer;
  await Promise.race([child.exited, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
  clearTimeout(timer);
  // The whole tree, and whatever it started since (Dovecot's per-connection processes).
  for (const p of [...tree, ...descendants(child.pid)]) {
    if (alive(p)) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  await Promise.race([child.exited, new Promise((r) => setTimeout(r, 2000))]);
  const until = Date.now() + 3000;
  while (tree.some(alive) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
}

/** Tracks a process we did not spawn ourselves (a daemon that detached), with its descendants. */
export function trackPid(pid) {
  if (pid > 0) pids.add(pid);
}

export function untrackPid(pid) {
  pids.delete(pid);
}

/** Waits until pid is gone (at most graceMs), then SIGKILLs it and its descendants. */
export async function waitGone(pid, graceMs = 10000) {
  const tree = [pid, ...descendants(pid)];
  const until = Date.now() + graceMs;
  while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  for (const p of [...tree, ...descendants(pid)]) {
    if (alive(p)) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  const hard = Date.now() + 3000;
  while (tree.some(alive) && Date.now() < hard) await new Promise((r) => setTimeout(r, 20));
}

export function trackDir(dir) {
  dirs.add(dir);
  return dir;
}

export function untrackDir(dir) {
  dirs.delete(dir);
}

/** Extra work to do on cleanup (async; runs before processes are killed). */
export function onCleanup(fn) {
  cleanups.push(fn);
}

function cleanupSync() {
  const killed = [];
  for (const c of children) killed.push(...killTreeSync(c.pid));
  children.clear();
  for (const p of pids) if (alive(p)) killed.push(...killTreeSync(p));
  pids.clear();
  waitGoneSync(killed);
  for (const d of dirs) removeDir(d);
  dirs.clear();
}

export async function cleanup() {
  for (const fn of cleanups.splice(0)) await Promise.resolve().then(fn).catch(() => undefined);
  await Promise.all([...children].map((c) => stop(c, 5000)));
  cleanupSync();
}

/** Installs the handlers that make sure nothing outlives the benchmark. */
export function guard() {
  process.once('exit', cleanupSync);
  const onSignal = (sig) => {
    if (exiting) return;
    exiting = true;
    process.stderr.write(`\n${sig}: stopping and cleaning up\n`);
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Started by scripts/bench.mjs: if it dies (kill -9), stop rather than run on unwatched.
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid !== parent) onSignal('parent gone');
  }, 1000);
  watch.unref();
}
