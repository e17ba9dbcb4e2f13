// Reading stored messages for FETCH and SEARCH: the whole file, or only its header when that
// is all a command needs (header fields, ENVELOPE, SUBJECT/FROM searches) — most of a big
// mailbox's bytes are bodies, and a FETCH of 1:* headers should not read them. Message files
// never change (a flag change renames nothing; an expunge removes the file), so headers are
// kept in a per-process cache keyed by path, as Dovecot keeps them in its index cache.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

const FIRST_READ = 16 * 1024;
const MAX_HEADER = 1024 * 1024;

function headerEndIn(buf: Buffer): number {
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] !== 0x0a) continue;
    if (buf[i + 1] === 0x0a) return i + 2;
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

const CACHE_BYTES = 32 * 1024 * 1024;
const cache = new Map<string, Buffer>();
let cachedBytes = 0;

function remember(path: string, header: Buffer): Buffer {
  // Own copy: the read buffer may be much larger than the header.
  const copy = Buffer.from(header);
  cache.set(path, copy);
  cachedBytes += copy.length;
  for (const [k, v] of cache) {
    if (cachedBytes <= CACHE_BYTES) break;
    cache.delete(k);
    cachedBytes -= v.length;
  }
  return copy;
}

/** The header block (with its blank line) of a message file; the whole file if it has none. */
export async function readHeader(path: string): Promise<Buffer> {
  const hit = cache.get(path);
  if (hit) {
    // Most recently used last, so the oldest go first.
    cache.delete(path);
    cache.set(path, hit);
    return hit;
  }
  return remember(path, readHeaderFile(path));
}

/** Synchronous small reads: the header block sits in the page cache after delivery. */
function readHeaderFile(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    let buf = Buffer.alloc(FIRST_READ);
    let len = 0;
    for (;;) {
      const bytesRead = readSync(fd, buf, len, buf.length - len, len);
      len += bytesRead;
      const end = headerEndIn(buf.subarray(0, len));
      if (end >= 0) return buf.subarray(0, end);
      if (bytesRead === 0 || len >= MAX_HEADER) return buf.subarray(0, len);
      if (len === buf.length) {
        const bigger = Buffer.alloc(buf.length * 4);
        buf.copy(bigger, 0, 0, len);
        buf = bigger;
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Below this size a message is read synchronously: from the page cache that takes
 * microseconds, where the promise API costs several threadpool round trips. */
const SYNC_READ_MAX = 256 * 1024;

export async function readMessage(path: string, headerOnly: boolean, size?: number): Promise<Buffer> {
  if (headerOnly) return readHeader(path);
  return size !== undefined && size <= SYNC_READ_MAX ? readFileSync(path) : readFile(path);
}
