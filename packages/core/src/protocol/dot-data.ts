// Decodes an SMTP/LMTP DATA stream (RFC 5321 4.5.2): removes dot-stuffing, finds the
// terminating CRLF "." CRLF, and checks the message as a store needs it (no NUL, no bare LF
// or CR, well-formed header lines, a blank line after the header).
// Only CRLF.CRLF ends the data (never a bare-LF variant): accepting "\n.\n" is how SMTP
// smuggling works. Pure: bytes in, body bytes and a verdict out.

export type DataProblem = 'nul' | 'bare-lf' | 'bare-cr' | 'bad-header' | 'no-blank-line';

export interface DataResult {
  /** Body bytes after dot-unstuffing, in order; views into the input, copy to keep. */
  chunks: Buffer[];
  /** True when the terminating "." line was seen; `rest` holds the bytes after it. */
  done: boolean;
  rest: Buffer;
}

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

const enum S {
  LineStart,
  Dot, // "." at line start, dropped
  DotCR, // "." CR at line start
  Mid,
  CR, // CR inside a line
}

export class DotDataDecoder {
  /** Bytes of message produced so far. */
  size = 0;
  /** The first problem found, if any; decoding goes on so the whole DATA is consumed. */
  problem: DataProblem | undefined;
  private state: S = S.LineStart;
  private inHeader = true;
  private sawField = false;
  private header: number[] = [];

  private note(p: DataProblem): void {
    this.problem ??= p;
  }

  private headerByte(c: number): void {
    if (this.inHeader && this.header.length < 1000) this.header.push(c);
  }

  private headerLineEnd(): void {
    if (!this.inHeader) return;
    const line = this.header;
    this.header = [];
    if (line.length === 0) {
      this.inHeader = false;
      return;
    }
    if (line[0] === 0x20 || line[0] === 0x09) {
      if (!this.sawField) this.note('bad-header');
      return;
    }
    const colon = line.indexOf(0x3a);
    if (colon <= 0 || line.slice(0, colon).some((c) => c < 33 || c > 126)) {
      this.note('bad-header');
      return;
    }
    this.sawField = true;
  }

  push(chunk: Buffer): DataResult {
    const chunks: Buffer[] = [];
    let runStart = 0;
    const flush = (end: number): void => {
      if (end > runStart) {
        chunks.push(chunk.subarray(runStart, end));
        this.size += end - runStart;
      }
    };
    for (let i = 0; i < chunk.length; i += 1) {
      const c = chunk[i] as number;
      switch (this.state) {
        case S.LineStart:
          if (c === DOT) {
            flush(i);
            runStart = i + 1;
            this.state = S.Dot;
            continue;
          }
          break;
        case S.Dot:
          if (c === CR) {
            this.state = S.DotCR;
            continue;
          }
          this.state = S.Mid; // the dot was stuffing; this byte is data
          break;
        case S.DotCR:
          if (c === LF) {
            // Still in the header at the end: no blank line separated header and body.
            if (this.inHeader) this.note('no-blank-line');
            return { chunks, done: true, rest: chunk.subarray(i + 1) };
          }
          // "." CR x: the dot was stuffing and the CR is data (a bare CR).
          chunks.push(Buffer.from([CR]));
          this.size += 1;
          runStart = i;
          this.note('bare-cr');
          this.state = S.Mid;
          break;
        case S.CR:
          if (c === LF) {
            this.headerLineEnd();
            this.state = S.LineStart;
            continue;
          }
          this.note('bare-cr');
          this.state = S.Mid;
          break;
        case S.Mid:
          break;
      }
      // Ordinary byte in S.Mid (or just moved there).
      if (c === CR) {
        this.state = S.CR;
        continue;
      }
      if (c === LF) {
        this.note('bare-lf');
        this.headerLineEnd();
        this.state = S.Mid; // a bare LF does not start a line: no dot handling after it
        continue;
      }
      if (c === 0) this.note('nul');
      this.headerByte(c);
      this.state = S.Mid;
    }
    if (this.state !== S.Dot && this.state !== S.DotCR) flush(chunk.length);
    return { chunks, done: false, rest: Buffer.alloc(0) };
  }
}
