// One POP3 session per mailbox at a time (RFC 1939 4: the maildrop is locked), across the
// store's worker processes: an exclusive lock file per user holding "pid host". A lock whose
// process is gone on this host (a crashed worker) is stale and taken over, so a crash never
// locks a user out.
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class MaildropLocks {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private path(user: string): string {
    return join(this.dir, `${createHash('sha256').update(user.toLowerCase()).digest('hex').slice(0, 32)}.lock`);
  }

  /** Takes the user's lock; returns the release function, or null when another session holds it. */
  acquire(user: string): (() => void) | null {
    const path = this.path(user);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o600);
        writeSync(fd, `${process.pid} ${hostname()}\n`);
        closeSync(fd);
        let released = false;
        return () => {
          if (released) return;
          released = true;
          try {
            unlinkSync(path);
          } catch {
            /* already gone */
          }
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (!this.stale(path)) return null;
        try {
          unlinkSync(path);
        } catch {
          /* someone else took it over first */
        }
      }
    }
    return null;
  }

  private stale(path: string): boolean {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return true;
    }
    const [pidText, host] = text.trim().split(' ');
    const pid = Number(pidText);
    // Only a lock of this host can be judged; another host's lock is trusted.
    return host === hostname() && Number.isInteger(pid) && pid > 0 && !alive(pid);
  }
}
