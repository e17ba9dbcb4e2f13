// Submitted mail (RFC 6409 section 8) gets the Message-ID and Date a client left out. Both
// belong in the header, which is only known once its blank line has arrived: HeaderHold keeps
// the header back (bounded: past `maxHeaderBytes` it gives up and passes everything through),
// and releases it with the missing fields in front.
import { randomBytes } from 'node:crypto';
import { rfc5322Date } from './received.js';

export class HeaderHold {
  private held: Buffer[] = [];
  private size = 0;
  private released = false;

  constructor(
    private readonly hostname: string,
    private readonly maxHeaderBytes = 256 * 1024,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Bytes to write now (possibly none while the header is being held). */
  push(chunk: Buffer): Buffer {
    if (this.released) return chunk;
    this.held.push(chunk);
    this.size += chunk.length;
    const all = Buffer.concat(this.held);
    const end = headerEnd(all);
    if (end < 0 && this.size <= this.maxHeaderBytes) return Buffer.alloc(0);
    return this.release(all, end < 0 ? all.length : end);
  }

  /** At the end of the data: whatever is still held (a message that is all header). */
  end(): Buffer {
    if (this.released) return Buffer.alloc(0);
    const all = Buffer.concat(this.held);
    return this.release(all, all.length);
  }

  private release(all: Buffer, headerLength: number): Buffer {
    this.released = true;
    this.held = [];
    const add = missingFields(all.subarray(0, headerLength).toString('latin1'), this.hostname, this.now());
    return add ? Buffer.concat([Buffer.from(add, 'latin1'), all]) : all;
  }
}

/** Offset just past the header's CRLF (before the blank line), or -1 if not seen yet. */
function headerEnd(b: Buffer): number {
  if (b.subarray(0, 2).toString('latin1') === '\r\n') return 0;
  const i = b.indexOf('\r\n\r\n');
  return i < 0 ? -1 : i + 2;
}

/** The Message-ID and Date lines a header lacks, CRLF-terminated; '' when it has both. */
export function missingFields(header: string, hostname: string, now: Date): string {
  let out = '';
  if (!/^message-id[ \t]*:/im.test(header)) out += `Message-ID: <${now.getTime().toString(36)}.${randomBytes(8).toString('hex')}@${hostname}>\r\n`;
  if (!/^date[ \t]*:/im.test(header)) out += `Date: ${rfc5322Date(now)}\r\n`;
  return out;
}
