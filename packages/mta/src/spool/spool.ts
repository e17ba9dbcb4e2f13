// The relay's spool: the truth about every accepted message. Layout under relay.spool:
//   tmp/<id>.eml.tmp, tmp/<id>.json.tmp   being written (left-overs are removed by resync)
//   queue/<xx>/<id>.eml                    the message as accepted (Received header first)
//   queue/<xx>/<id>.json                   its envelope (see envelope.ts); present = queued
// A message stays queued until nothing is pending and every DSN it owes has been injected as
// a message of its own (dsn/report.ts), so a crash in between sends the DSN again, never loses it.
// <xx> is the last two hex digits of the id, so no directory holds more than 1/256 of the queue.
import { closeSync, createReadStream, fstatSync, openSync, readFileSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { fsyncFd, syncDirectory, writeFileDurably } from './durable.js';
import { parseEnvelope, serializeEnvelope, type Envelope } from './envelope.js';
import { isSpoolId, shardOf } from './ids.js';

/** A message being received: bytes go through write(); then finish() and commit(), or discard(). */
export interface IncomingMessage {
  id: string;
  write(data: Buffer | string): Promise<void>;
  /** fsyncs and closes the message file. */
  finish(): Promise<void>;
  discard(): Promise<void>;
  readonly tempPath: string;
}

/** Bytes gathered before a write to the spool file. */
const WRITE_BATCH = 256 * 1024;
/** Messages up to this size are read in one go for delivery. */
const INLINE_READ = 1024 * 1024;

export class Spool {
  /** Shard directories known to exist (no mkdir per message). */
  private readonly shards = new Set<string>();

  readonly tmpDir: string;
  readonly queueDir: string;

  constructor(readonly dir: string) {
    this.tmpDir = join(dir, 'tmp');
    this.queueDir = join(dir, 'queue');
  }

  async init(): Promise<void> {
    for (const d of [this.tmpDir, this.queueDir]) await mkdir(d, { recursive: true, mode: 0o750 });
  }

  private shardDir(id: string): string {
    return join(this.queueDir, shardOf(id));
  }

  messagePath(id: string): string {
    return join(this.shardDir(id), `${id}.eml`);
  }

  envelopePath(id: string): string {
    return join(this.shardDir(id), `${id}.json`);
  }

  async openMessage(id: string): Promise<IncomingMessage> {
    const tempPath = join(this.tmpDir, `${id}.eml.tmp`);
    // Plain awaited writes on the handle: the data arrives from a socket at network speed, and
    // each await is the backpressure. (A stream over a FileHandle with autoClose off keeps
    // the handle referenced, and close() then waits forever.)
    const fd = openSync(tempPath, 'wx', 0o640);
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      closeSync(fd);
    };
    // Small writes are gathered and written WRITE_BATCH bytes at a time: most messages are a
    // few KB and go to disk in one write instead of one per network chunk.
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = (): void => {
      if (pendingBytes === 0) return;
      const data = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
    };
    return {
      id,
      tempPath,
      async write(data) {
        const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
        pending.push(b);
        pendingBytes += b.length;
        if (pendingBytes >= WRITE_BATCH) flush();
      },
      async finish() {
        flush();
        await fsyncFd(fd);
        close();
      },
      async discard() {
        try {
          close();
        } catch {
          // already closed
        }
        rmSync(tempPath, { force: true });
      },
    };
  }

  /**
   * Makes an accepted message durable: message file renamed into the queue, envelope written
   * and renamed beside it, the queue directory fsynced. Only after this may the client hear 250.
   */
  async commit(message: IncomingMessage, env: Envelope): Promise<void> {
    const shard = this.shardDir(env.id);
    if (!this.shards.has(shard)) {
      await mkdir(shard, { recursive: true, mode: 0o750 });
      this.shards.add(shard);
    }
    renameSync(message.tempPath, this.messagePath(env.id));
    await writeFileDurably(join(this.tmpDir, `${env.id}.json.tmp`), this.envelopePath(env.id), serializeEnvelope(env));
    await syncDirectory(shard);
  }

  async readEnvelope(id: string): Promise<Envelope | null> {
    try {
      return parseEnvelope(readFileSync(this.envelopePath(id), 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** Replaces the envelope atomically (the caller holds the id's lock). */
  async writeEnvelope(env: Envelope): Promise<void> {
    const temp = join(this.tmpDir, `${env.id}.json.${process.pid}.tmp`);
    rmSync(temp, { force: true });
    await writeFileDurably(temp, this.envelopePath(env.id), serializeEnvelope(env));
    await syncDirectory(this.shardDir(env.id));
  }

  /** The queued message as a stream: read at once when small (most are), streamed when large. */
  openMessageStream(id: string): Readable {
    const path = this.messagePath(id);
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size <= INLINE_READ) {
        const buf = Buffer.alloc(size);
        for (let off = 0; off < size; ) {
          const n = readSync(fd, buf, off, size - off, off);
          if (n === 0) break;
          off += n;
        }
        return Readable.from([buf]);
      }
    } finally {
      closeSync(fd);
    }
    return createReadStream(path);
  }

  /**
   * The message has nothing pending: remove it, unless a DSN is still owed (it stays queued and
   * the next delivery attempt or resync sends the DSN first).
   */
  async finish(env: Envelope): Promise<'removed' | 'awaiting-dsn'> {
    if (env.recipients.some((r) => r.status.state !== 'pending' && r.status.dsn === 'pending')) return 'awaiting-dsn';
    // No directory fsync: a removal lost in a crash only means the message is delivered again,
    // which the stores drop by its delivery id. The envelope goes first, so no envelope is ever
    // left without its message.
    // Off the event loop: unlink is slow on some file systems, and many jobs finish at once.
    await rm(this.envelopePath(env.id), { force: true });
    await rm(this.messagePath(env.id), { force: true });
    return 'removed';
  }

  /** Reads at most maxBytes of a queued message (for DSNs that return it). */
  async readMessageHead(id: string, maxBytes: number): Promise<{ data: Buffer; complete: boolean }> {
    const fh = await open(this.messagePath(id), 'r');
    try {
      const size = (await fh.stat()).size;
      const n = Math.min(size, maxBytes);
      const data = Buffer.alloc(n);
      await fh.read(data, 0, n, 0);
      return { data, complete: n === size };
    } finally {
      await fh.close();
    }
  }

  /** Queues a message the relay wrote itself (a DSN): the content and its envelope, durably. */
  async inject(env: Envelope, content: Buffer): Promise<void> {
    const message = await this.openMessage(env.id);
    try {
      await message.write(content);
      await message.finish();
      await this.commit(message, env);
    } catch (err) {
      await message.discard();
      throw err;
    }
  }

  /** Every queued id (an envelope exists), shard by shard. */
  async *ids(): AsyncGenerator<string> {
    for (const shard of (await readdir(this.queueDir)).sort()) {
      let names: string[];
      try {
        names = await readdir(join(this.queueDir, shard));
      } catch {
        continue;
      }
      for (const name of names.sort()) {
        if (!name.endsWith('.json')) continue;
        const id = name.slice(0, -5);
        if (isSpoolId(id)) yield id;
      }
    }
  }

  /**
   * Removes what a crash can leave behind: temp files and messages without an envelope,
   * older than `minAgeMs` (younger ones may belong to a transaction still in progress).
   */
  async removeStrays(minAgeMs: number, now = Date.now()): Promise<number> {
    let removed = 0;
    const old = async (p: string): Promise<boolean> => {
      try {
        return now - (await stat(p)).mtimeMs > minAgeMs;
      } catch {
        return false;
      }
    };
    for (const name of await readdir(this.tmpDir)) {
      const p = join(this.tmpDir, name);
      if (await old(p)) {
        await rm(p, { force: true });
        removed += 1;
      }
    }
    for (const shard of await readdir(this.queueDir)) {
      const dir = join(this.queueDir, shard);
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        continue;
      }
      const envelopes = new Set(names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)));
      for (const name of names) {
        if (!name.endsWith('.eml') || envelopes.has(name.slice(0, -4))) continue;
        const p = join(dir, name);
        if (await old(p)) {
          await rm(p, { force: true });
          removed += 1;
        }
      }
    }
    return removed;
  }
}

