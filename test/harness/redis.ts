// A real redis-server for tests, on a free port with a temporary data directory and AOF on.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { detach, setStopped, tail, terminate, track, untrack } from './processes.js';

export interface RedisOptions {
  port?: number;
  /** Use this directory (kept on stop) instead of a new temporary one (removed on stop). */
  dir?: string;
  /** Extra redis-server arguments, e.g. ['--maxmemory', '10mb']. */
  args?: string[];
  startTimeoutMs?: number;
}

export interface RedisHandle {
  host: '127.0.0.1';
  port: number;
  dir: string;
  readonly pid: number;
  stop(): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
  pause(): void;
  resume(): void;
  flushAll(): Promise<void>;
}

function locateRedis(): string {
  for (const p of ['/usr/bin/redis-server', '/usr/local/bin/redis-server', '/usr/sbin/redis-server']) {
    if (existsSync(p)) return p;
  }
  throw new Error('redis-server is not installed: install the Debian package redis-server (apt-get install redis-server)');
}

/** One command in RESP; resolves with the first line of the reply (e.g. "+PONG"). */
export function redisCommand(port: number, args: string[], timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis ${args[0]} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    let reply = '';
    socket.once('connect', () => {
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      reply += chunk;
      const end = reply.indexOf('\r\n');
      if (end >= 0) {
        clearTimeout(timer);
        socket.end();
        resolve(reply.slice(0, end));
      }
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export async function startRedis(opts: RedisOptions = {}): Promise<RedisHandle> {
  const binary = locateRedis();
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'tiermail-redis-')));
  const port = opts.port ?? (await freePort());
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--appendonly', 'yes', '--save', '', '--daemonize', 'no', '--loglevel', 'warning',
    ...(opts.args ?? []),
  ];
  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const tracked = track(child, ownDir ? dir : undefined);
  detach(child);
  const output = tail(child.stdout);
  const errors = tail(child.stderr);

  const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000);
  let last = 'no attempt';
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      last = `redis-server exited (${child.exitCode ?? child.signalCode})`;
    } else {
      try {
        if ((await redisCommand(port, ['PING'], 500)) === '+PONG') break;
      } catch (err) {
        last = (err as Error).message;
      }
    }
    if (Date.now() > deadline || child.exitCode !== null) {
      await terminate(child, 1000);
      untrack(tracked);
      if (ownDir) await rm(dir, { recursive: true, force: true });
      const text = `${output()}${errors()}`.trim();
      throw new Error(`redis-server did not answer PING on port ${port}: ${last}${text ? `\n${text}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    host: '127.0.0.1',
    port,
    dir,
    get pid() {
      return child.pid ?? -1;
    },
    async stop() {
      await terminate(child);
      untrack(tracked);
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      child.kill(signal);
    },
    pause() {
      setStopped(child, true);
    },
    resume() {
      setStopped(child, false);
    },
    async flushAll() {
      const reply = await redisCommand(port, ['FLUSHALL']);
      if (reply !== '+OK') throw new Error(`FLUSHALL answered ${reply}`);
    },
  };
}
