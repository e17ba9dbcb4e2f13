// Server processes started by the harness. If a test file ends without stopping them (a failed
// assertion skips the after hook, a crash), the 'exit' handler still kills them and removes
// their temporary directories, so no slapd or redis-server outlives the test run.
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import type { Readable } from 'node:stream';

interface Tracked {
  child: ChildProcess;
  /** Directory to delete at exit (only directories the harness created). */
  dir: string | undefined;
}

const tracked = new Set<Tracked>();
let hooked = false;

function onExit(): void {
  for (const t of tracked) {
    try {
      // SIGKILL works on a stopped (SIGSTOP) process too; nothing else is safe in 'exit'.
      if (t.child.exitCode === null && t.child.signalCode === null && t.child.pid) process.kill(t.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    if (t.dir) rmSync(t.dir, { recursive: true, force: true });
  }
  tracked.clear();
}

export function track(child: ChildProcess, dir: string | undefined): Tracked {
  if (!hooked) {
    process.once('exit', onExit);
    hooked = true;
  }
  const t = { child, dir };
  tracked.add(t);
  return t;
}

export function untrack(t: Tracked): void {
  tracked.delete(t);
}

/**
 * Lets the test process exit while the server runs (the exit hook then kills it): a test that
 * forgets stop() should not hang the whole run.
 */
export function detach(child: ChildProcess): void {
  child.unref();
  for (const stream of [child.stdout, child.stderr]) (stream as (Readable & { unref?: () => void }) | null)?.unref?.();
}

/** Keeps the last `max` characters written to a stream, for error messages. */
export function tail(stream: Readable | null, max = 16_384): () => string {
  let text = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    text = (text + chunk).slice(-max);
  });
  return () => text;
}

/** Resolves when the child has exited (immediately if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM (and SIGCONT, in case it is stopped), then SIGKILL after `graceMs`. */
export async function terminate(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  child.kill('SIGTERM');
  child.kill('SIGCONT');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    done.then(() => false),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs))),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    child.kill('SIGKILL');
    await done;
  }
}

function threadStates(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map((tid) => {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // The state follows the command name, which is in parentheses and may contain spaces.
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    });
  } catch {
    return []; // gone, or no /proc: nothing to wait for
  }
}

/**
 * Sends SIGSTOP or SIGCONT and waits (briefly, synchronously) until every thread shows the new
 * state. kill() returns before the signal lands; a request sent in that window would still be
 * answered, and a test of "server hung" would pass or fail by luck.
 */
export function setStopped(child: ChildProcess, stopped: boolean, maxWaitMs = 2000): void {
  child.kill(stopped ? 'SIGSTOP' : 'SIGCONT');
  const pid = child.pid;
  if (!pid) return;
  const deadline = Date.now() + maxWaitMs;
  while (Date.now() < deadline) {
    const states = threadStates(pid);
    if (states.length === 0 || states.every((s) => (s === 'T' || s === 't') === stopped)) return;
  }
}
