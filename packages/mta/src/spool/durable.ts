// The durability primitive of the spool: a file is complete on disk, under its final name,
// with the directory entry itself synced, before anyone is told it exists. A crash at any
// point leaves either the old state or the new one (plus, at worst, a stray temp file).
import { open, rename, type FileHandle } from 'node:fs/promises';

/** fsync a directory so a rename or unlink in it survives a power loss. */
export async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Write `data` to `tempPath`, fsync it, rename it to `finalPath` (the caller syncs the directory). */
export async function writeFileDurably(tempPath: string, finalPath: string, data: string | Buffer): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(tempPath, 'wx', 0o640);
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh?.close();
  }
  await rename(tempPath, finalPath);
}
