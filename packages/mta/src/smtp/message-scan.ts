// Looks at a message as it streams in, without buffering it: what the relay must know before
// it answers DATA (Received count for loop detection, Message-ID for mail.log) and what would
// make the store refuse it anyway (NUL, bare LF or CR, a broken header), so the client hears
// the refusal now instead of the sender getting a bounce later. Pure: bytes in, verdict out.

export type MessageProblem = 'empty' | 'nul' | 'bare-lf' | 'bare-cr' | 'bad-header';

export interface MessageScan {
  bytes: number;
  receivedCount: number;
  messageId: string | null;
  /** The header never ended with a blank line (a header-only message): the relay adds one. */
  headerOpen: boolean;
  /** 8-bit bytes in header values (RFC 6532 UTF-8 headers, or legacy raw 8-bit). */
  eightBitHeader: boolean;
  problem: MessageProblem | null;
}

const CR = 0x0d;
const LF = 0x0a;
const MAX_KEPT_LINE = 2048;

export class MessageScanner {
  private bytes = 0;
  private receivedCount = 0;
  private messageId: string | null = null;
  private eightBitHeader = false;
  private problem: MessageProblem | null = null;
  private inHeader = true;
  private sawField = false;
  private lastWasCR = false;
  /** The current header line (bounded) and the field it belongs to, for unfolding Message-ID. */
  private line: number[] = [];
  private field: string | null = null;
  private fieldValue = '';

  private note(p: MessageProblem): void {
    this.problem ??= p;
  }

  push(chunk: Buffer): void {
    for (let i = 0; i < chunk.length; i += 1) {
      const c = chunk[i] as number;
      this.bytes += 1;
      if (this.lastWasCR && c !== LF) this.note('bare-cr');
      if (c === 0) this.note('nul');
      if (c === LF) {
        if (!this.lastWasCR) this.note('bare-lf');
        this.endLine();
      } else if (c !== CR && this.inHeader) {
        if (this.line.length < MAX_KEPT_LINE) this.line.push(c);
        if (c >= 0x80) this.eightBitHeader = true;
      }
      this.lastWasCR = c === CR;
    }
  }

  private endLine(): void {
    if (!this.inHeader) return;
    const line = this.line;
    this.line = [];
    if (line.length === 0) {
      this.closeField();
      this.inHeader = false;
      return;
    }
    if (line[0] === 0x20 || line[0] === 0x09) {
      if (!this.sawField) this.note('bad-header');
      else if (this.field !== null) this.fieldValue += Buffer.from(line).toString('latin1');
      return;
    }
    this.closeField();
    const colon = line.indexOf(0x3a);
    if (colon <= 0 || line.slice(0, colon).some((b) => b < 33 || b > 126)) {
      this.note('bad-header');
      return;
    }
    this.sawField = true;
    const name = Buffer.from(line.slice(0, colon)).toString('latin1').toLowerCase();
    if (name === 'received') this.receivedCount += 1;
    if (name === 'message-id' && this.messageId === null) {
      this.field = name;
      this.fieldValue = Buffer.from(line.slice(colon + 1)).toString('latin1');
    }
  }

  private closeField(): void {
    if (this.field === 'message-id') {
      const v = this.fieldValue.replace(/\s+/g, ' ').trim();
      this.messageId = v === '' ? null : v.slice(0, 998);
    }
    this.field = null;
    this.fieldValue = '';
  }

  result(): MessageScan {
    if (this.inHeader && this.line.length > 0) {
      // The last line had no line ending at all; judge it as a header line anyway.
      this.endLine();
    }
    if (this.inHeader) this.closeField();
    return {
      bytes: this.bytes,
      receivedCount: this.receivedCount,
      messageId: this.messageId,
      headerOpen: this.inHeader,
      eightBitHeader: this.eightBitHeader,
      problem: this.bytes === 0 ? 'empty' : this.problem,
    };
  }
}
