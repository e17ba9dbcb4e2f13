// Partitions: where bodies and users live, how full each file system is, and how a body gets
// into a partition's single-instance directory. Each partition keeps its own link to every
// body (objects/), so one copy per partition serves all its recipients through hard links.
import { constants } from 'node:fs';
import { copyFile, rename, statfs, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StoreConfig } from '@tiermail/core';
import { errnoCode, fsyncPath, mkdirDurableSync, writeNewFileDurable } from './durable-fs.js';
import { newObjectId, objectPath, objectsDir, tempDir } from './layout.js';
import type { PartitionRef } from './registry.js';

export type { PartitionRef };

export function partitionsFromConfig(cfg: StoreConfig): Map<string, PartitionRef> {
  const out = new Map<string, PartitionRef>();
  for (const [name, p] of Object.entries(cfg.partitions)) {
    out.set(name, { name, path: p.path, highWaterPercent: p.highWaterPercent });
  }
  return out;
}

export function preparePartition(p: PartitionRef): void {
  for (const dir of [objectsDir(p.path), tempDir(p.path)]) mkdirDurableSync(dir);
}

/** Percentage of the file system in use, as df computes it (reserved blocks count as used). */
export async function diskUsedPercent(path: string): Promise<number> {
  const s = await statfs(path);
  const used = s.blocks - s.bfree;
  const total = used + s.bavail;
  return total === 0 ? 100 : (used * 100) / total;
}

export async function isAboveHighWater(p: PartitionRef): Promise<boolean> {
  return (await diskUsedPercent(p.path)) > p.highWaterPercent;
}

/** Where the bytes of the message currently are. A caller-supplied path is moved (not copied)
 * into the first partition on the same file system; later partitions copy from there. */
export type BodySource =
  | { kind: 'path'; path: string; owned: boolean }
  | { kind: 'data'; data: Buffer }
  /** A message already in the store (COPY): linked again, never moved or removed. */
  | { kind: 'stored'; path: string };

export interface PlacedObject {
  path: string;
}

const shardsReady = new Set<string>();

/** Puts the body into p's objects/ directory and makes it durable (data and directory entry). */
export async function placeObject(p: PartitionRef, source: BodySource, nowMs: number): Promise<PlacedObject> {
  const target = objectPath(p.path, newObjectId(nowMs));
  const shard = dirname(target);
  if (!shardsReady.has(shard)) {
    mkdirDurableSync(shard);
    shardsReady.add(shard);
  }
  if (source.kind === 'stored') {
    await copyDurable(source.path, target);
  } else if (source.kind === 'data') {
    await writeNewFileDurable(target, source.data);
  } else if (source.owned) {
    // The LMTP spool file: fsync it (the spooler may not have) and move it in.
    await fsyncPath(source.path);
    try {
      await rename(source.path, target);
      source.path = target;
      source.owned = false;
    } catch (err) {
      if (errnoCode(err) !== 'EXDEV') throw err;
      await copyDurable(source.path, target);
    }
  } else {
    await copyDurable(source.path, target);
  }
  await fsyncPath(shard);
  return { path: target };
}

async function copyDurable(from: string, to: string): Promise<void> {
  await copyFile(from, to, constants.COPYFILE_EXCL);
  try {
    await fsyncPath(to);
  } catch (err) {
    await unlink(to).catch(() => undefined);
    throw err;
  }
}
