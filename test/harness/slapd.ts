// A real OpenLDAP slapd for tests: cn=config and data built with slapadd in a temporary
// directory (the same code as the local stack: @tiermail/core slapd module), then slapd in the
// foreground on a free port. Tests can stop, kill, pause (SIGSTOP) and restart it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { initSlapdDirectory, locateSlapd, slapdArgs, type SlapdInstance } from '@tiermail/core/slapd/index';
import { freePort } from './ports.js';
import { detach, exited, setStopped, tail, terminate, track, untrack } from './processes.js';

export interface SlapdOptions {
  /** Load the demo domain example.test (alice, bob, staff@). */
  demo?: boolean;
  /** mailHost of the demo users (default localhost). */
  mailHost?: string;
  port?: number;
  /** Use this directory (kept on stop) instead of a new temporary one (removed on stop). */
  dir?: string;
  /** How long to wait for slapd to accept a bind. */
  startTimeoutMs?: number;
}

export interface SlapdHandle {
  url: string;
  port: number;
  dir: string;
  suffix: 'o=tiermail';
  adminDn: string;
  adminPassword: string;
  /** Pid of the current slapd process (changes on restart). */
  readonly pid: number;
  /** Graceful stop, then removes the temporary directory. */
  stop(): Promise<void>;
  /** Sends a signal (default SIGKILL) and does not wait; stop() still cleans up. */
  kill(signal?: NodeJS.Signals): void;
  /** SIGSTOP: the port still accepts connections, nothing answers. */
  pause(): void;
  resume(): void;
  /** Stops slapd and starts it again on the same port with the same data. */
  restart(): Promise<void>;
}

const SUFFIX = 'o=tiermail';
const ADMIN_DN = `cn=admin,${SUFFIX}`;
const ADMIN_PASSWORD = 'demo-admin';

export async function startSlapd(opts: SlapdOptions = {}): Promise<SlapdHandle> {
  const binaries = locateSlapd();
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'tiermail-slapd-')));
  const startTimeoutMs = opts.startTimeoutMs ?? 15_000;
  let instance: SlapdInstance;
  try {
    instance = await initSlapdDirectory({
      dir,
      suffix: SUFFIX,
      rootDn: ADMIN_DN,
      rootPassword: ADMIN_PASSWORD,
      demo: opts.demo ? { mailHost: opts.mailHost ?? 'localhost' } : false,
      binaries,
    });
  } catch (err) {
    if (ownDir) await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const port = opts.port ?? (await freePort());
  const url = `ldap://127.0.0.1:${port}`;

  let child: ChildProcess;
  let tracked: ReturnType<typeof track>;
  let paused = false;

  const launch = async (): Promise<void> => {
    child = spawn(binaries.slapd, slapdArgs(instance, [`${url}/`]), { stdio: ['ignore', 'pipe', 'pipe'] });
    tracked = track(child, ownDir ? dir : undefined);
    detach(child);
    const stderr = tail(child.stderr);
    tail(child.stdout);
    paused = false;
    try {
      // "slapd starting" is printed once the listeners are bound: without it, a bind could
      // succeed against another server already holding the port.
      await waitForBind(url, child, startTimeoutMs, () => stderr().includes('slapd starting'));
    } catch (err) {
      await terminate(child, 1000);
      untrack(tracked);
      const output = stderr().trim();
      throw new Error(`slapd did not start on ${url}: ${(err as Error).message}${output ? `\nslapd stderr:\n${output}` : ''}`);
    }
  };

  const stopProcess = async (): Promise<void> => {
    await terminate(child);
    untrack(tracked);
  };

  try {
    await launch();
  } catch (err) {
    if (ownDir) await rm(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    url,
    port,
    dir,
    suffix: SUFFIX,
    adminDn: ADMIN_DN,
    adminPassword: ADMIN_PASSWORD,
    get pid() {
      return child.pid ?? -1;
    },
    async stop() {
      await stopProcess();
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      child.kill(signal);
    },
    pause() {
      paused = true;
      setStopped(child, true);
    },
    resume() {
      paused = false;
      setStopped(child, false);
    },
    async restart() {
      if (paused) child.kill('SIGCONT');
      await stopProcess();
      await launch();
    },
  };
}

/** Polls an admin bind (once slapd says it started) until it works, slapd exits, or time is up. */
async function waitForBind(url: string, child: ChildProcess, timeoutMs: number, started: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no attempt';
  const gone = exited(child);
  let hasExited = false;
  void gone.then(() => (hasExited = true));
  while (Date.now() < deadline) {
    if (hasExited) throw new Error(`slapd exited (code ${child.exitCode ?? child.signalCode})`);
    if (!started()) {
      last = 'slapd has not reported "slapd starting" yet';
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    const client = new Client({ url, timeout: 1000, connectTimeout: 1000 });
    try {
      await client.bind(ADMIN_DN, ADMIN_PASSWORD);
      await client.unbind();
      return;
    } catch (err) {
      last = (err as Error).message;
      await client.unbind().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no successful bind within ${timeoutMs} ms (last error: ${last})`);
}
