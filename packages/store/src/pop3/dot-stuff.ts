// RFC 1939 3: a multi-line response is byte-stuffed (a line starting with "." gets another one)
// and ends with ".". Streams through chunks without holding the message; a bare LF in a stored
// message is sent as CRLF so the terminator always stands on its own line.
const DOT = Buffer.from('.');
const CR = Buffer.from('\r');

export class DotStuffer {
  private lineStart = true;
  private lastWasCr = false;

  push(chunk: Buffer): Buffer {
    const parts: Buffer[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.lineStart && c === 0x2e) {
        parts.push(chunk.subarray(start, i), DOT);
        start = i;
      }
      if (c === 0x0a && !this.lastWasCr) {
        parts.push(chunk.subarray(start, i), CR);
        start = i;
      }
      this.lineStart = c === 0x0a;
      this.lastWasCr = c === 0x0d;
    }
    if (start === 0) return chunk;
    parts.push(chunk.subarray(start));
    return Buffer.concat(parts);
  }

  /** The terminator, after a CRLF if the data did not end with one. */
  end(): Buffer {
    return Buffer.from(this.lineStart ? '.\r\n' : '\r\n.\r\n');
  }
}
