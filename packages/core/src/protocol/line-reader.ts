// Splits a byte stream into command lines with a hard length limit. A line longer than the
// limit is not buffered: its bytes are dropped up to the next LF and reported once as
// `too-long`, so a client cannot grow our memory by never sending a newline.

export type LineEvent = { type: 'line'; line: Buffer } | { type: 'too-long'; length: number };

export class LineReader {
  private buf: Buffer = Buffer.alloc(0);
  private discarding = false;
  private discarded = 0;

  constructor(readonly maxLength: number) {}

  /** Bytes held but not yet returned as a line (e.g. the start of DATA after a pipelined DATA). */
  takeRest(): Buffer {
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest;
  }

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  /** The next complete line without its CRLF (or bare LF), or undefined when more input is needed. */
  next(): LineEvent | undefined {
    for (;;) {
      const lf = this.buf.indexOf(0x0a);
      if (this.discarding) {
        if (lf < 0) {
          this.discarded += this.buf.length;
          this.buf = Buffer.alloc(0);
          return undefined;
        }
        const length = this.discarded + lf;
        this.buf = this.buf.subarray(lf + 1);
        this.discarding = false;
        this.discarded = 0;
        return { type: 'too-long', length };
      }
      if (lf < 0) {
        if (this.buf.length > this.maxLength) {
          this.discarding = true;
          this.discarded = this.buf.length;
          this.buf = Buffer.alloc(0);
        }
        return undefined;
      }
      const end = lf > 0 && this.buf[lf - 1] === 0x0d ? lf - 1 : lf;
      if (end > this.maxLength) {
        this.buf = this.buf.subarray(lf + 1);
        return { type: 'too-long', length: end };
      }
      const line = this.buf.subarray(0, end);
      this.buf = this.buf.subarray(lf + 1);
      return { type: 'line', line };
    }
  }
}
