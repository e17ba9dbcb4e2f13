// The durability primitive of the spool: a file is complete on disk, under its final name,
// with the directory entry itself synced, before anyone is told it exists. A crash at any
// point leaves either the old state or the new one (plus, at worst, a stray temp file).
//
// Only fsync goes through libuv's thread pool (it waits for the disk); open, write, rename
// and close are quick system calls done inline: handing each one to the pool costs more in
// thread wake-ups than the call itself (measured in the relay benchmark).
import { closeSync, fsync, openSync, renameSync, writeSync } from 'node:fs';

/** fsync an open file descriptor without blocking the event loop. */
export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
}

/** Directory descriptors kept open for fsync (the spool has at most 258 directories). */
const dirFds = new Map<string, number>();
const MAX_DIR_FDS = 512;

/** fsync a directory so a rename or unlink in it survives a power loss. */
export async function syncDirectory(dir: string): Promise<void> {
  let fd = dirFds.get(dir);
  if (fd === undefined) {
    fd = openSync(dir, 'r');
    if (dirFds.size < MAX_DIR_FDS) dirFds.set(dir, fd);
    else {
      try {
        await fsyncFd(fd);
      } finally {
        closeSync(fd);
      }
      return;
    }
  }
  await fsyncFd(fd);
}

/** Write `data` to `tempPath`, fsync it, rename it to `finalPath` (the caller syncs the directory). */
export async function writeFileDurably(tempPath: string, finalPath: string, data: string | Buffer): Promise<void> {
  const fd = openSync(tempPath, 'wx', 0o640);
  try {
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    for (let off = 0; off < b.length; ) off += writeSync(fd, b, off, b.length - off);
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tempPath, finalPath);
}
