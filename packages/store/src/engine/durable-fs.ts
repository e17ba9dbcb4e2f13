// File system steps that must survive power loss: a file's data is fsynced before any name
// points at it, and a directory is fsynced after a name is added or removed, or the name can
// vanish on reboot even though the data is on disk.
//
// In the async helpers only the fsync, which waits for the disk, goes to the threadpool. open,
// a write into the page cache and close are done in place: each takes microseconds, less than
// the hand-over to a threadpool thread and back that it would otherwise cost (and on the
// delivery path there are a dozen of them per message).
import { closeSync, fsync, fsyncSync, mkdirSync, openSync, renameSync, writeSync, existsSync, constants } from 'node:fs';
import { promisify } from 'node:util';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

const fsyncFd = promisify(fsync);

export async function fsyncPath(path: string): Promise<void> {
  const fd = openSync(path, constants.O_RDONLY);
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

export function fsyncPathSync(path: string): void {
  const fd = openSync(path, constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** mkdir -p, then fsync the parent of every directory it created, outermost first. */
export function mkdirDurableSync(path: string): void {
  if (existsSync(path)) return;
  const created: string[] = [];
  for (let p = path; !existsSync(p); p = dirname(p)) created.unshift(p);
  mkdirSync(path, { recursive: true });
  for (const dir of created) fsyncPathSync(dirname(dir));
}

/** Whole-file replace: temp file, fsync, rename over, fsync the directory. */
export function writeFileDurableSync(path: string, data: string | Buffer): void {
  const tmp = join(dirname(path), `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncPathSync(dirname(path));
}

/** Writes a new file and fsyncs it (its directory is the caller's business). */
export async function writeNewFileDurable(path: string, data: Buffer): Promise<void> {
  const fd = openSync(path, 'wx', 0o600);
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
