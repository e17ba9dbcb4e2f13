// Garbage collection of a partition: a body in objects/ whose only link is the partition's own
// (nlink 1) has been expunged by every recipient, or belonged to a delivery that crashed
// before linking. Bodies younger than minAgeMs are kept: a delivery links them a moment after
// writing them. Spool files in tmp/ older than a day were abandoned by a crashed LMTP session.
import { lstat, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from './durable-fs.js';
import { objectsDir, tempDir } from './layout.js';
import type { PartitionRef } from './partitions.js';
import type { GcReport } from './types.js';

export const DEFAULT_GC_MIN_AGE_MS = 60 * 60_000;
const TEMP_MAX_AGE_MS = 24 * 60 * 60_000;

async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}

export async function collectGarbage(p: PartitionRef, opts: { minAgeMs?: number } = {}): Promise<GcReport> {
  const minAgeMs = opts.minAgeMs ?? DEFAULT_GC_MIN_AGE_MS;
  const report: GcReport = { partition: p.name, objectsRemoved: 0, tempFilesRemoved: 0 };
  const now = Date.now();
  const root = objectsDir(p.path);
  for (const shard of await entries(root)) {
    for (const name of await entries(join(root, shard))) {
      const path = join(root, shard, name);
      const s = await lstat(path).catch(() => null);
      if (!s || !s.isFile() || s.nlink !== 1) continue;
      if (now - Math.max(s.mtimeMs, s.ctimeMs) <= minAgeMs) continue;
      await unlink(path).catch(() => undefined);
      report.objectsRemoved++;
    }
  }
  const tmp = tempDir(p.path);
  for (const name of await entries(tmp)) {
    const path = join(tmp, name);
    const s = await lstat(path).catch(() => null);
    if (!s || !s.isFile() || now - s.mtimeMs <= Math.max(TEMP_MAX_AGE_MS, minAgeMs)) continue;
    await unlink(path).catch(() => undefined);
    report.tempFilesRemoved++;
  }
  return report;
}
