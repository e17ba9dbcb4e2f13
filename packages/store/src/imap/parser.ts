// The IMAP command receiver (RFC 3501 sections 2.2 and 7.5, RFC 7888 LITERAL+): a pure,
// incremental state machine over bytes, as Dovecot's imap-parser and Stalwart's receiver.
// push() bytes in any split (one byte at a time works), next() returns one event or null when
// it needs more input. It never holds more than the limits allow:
// - the text of a command (literals excluded) is capped at maxLineBytes; a longer command is
//   answered BAD at once and its bytes are dropped up to the end of the command;
// - the literals of a command are capped by literalLimit(command name); a bigger synchronizing
//   literal is refused before the client sends it (no "+" continuation), a bigger LITERAL+ one
//   is refused and its bytes are skipped as they arrive, never stored.
// The events are processed lazily, one per next() call, so the session can change what the
// receiver expects (a raw AUTHENTICATE line, other limits after login) between commands.
import { extractTag, parseCommand, type FramedCommand, type ImapCommand } from './parser-tree.js';

export { extractTag, parseCommand, type FramedCommand, type ImapArg, type ImapCommand } from './parser-tree.js';

export type ReceiverEvent =
  | { kind: 'command'; command: ImapCommand }
  /** A synchronizing literal was accepted: send "+ ..." so the client sends its bytes. */
  | { kind: 'continue' }
  /** The raw line asked for with expectLine() (AUTHENTICATE responses, IDLE's DONE). */
  | { kind: 'line'; line: Buffer; tooLong: boolean }
  /** Answer `${tag ?? '*'} ${status} [code] text`; the command is over. */
  | { kind: 'error'; tag: string | null; status: 'BAD' | 'NO'; code?: string; text: string };

export interface ReceiverOptions {
  /** Text of one command, literals excluded. @defaultValue 65536 */
  maxLineBytes?: number;
  /** Nesting of parenthesised lists. @defaultValue 16 */
  maxListDepth?: number;
  /** Total literal bytes one command may carry, by command name (upper case, "UID" followed by
   * its sub-command); consulted when a literal is announced. @defaultValue 64 KiB for all */
  literalLimit?: (command: string) => number;
}

type Mode =
  | { kind: 'line' }
  | { kind: 'literal'; remaining: number; parts: Buffer[]; nonSync: boolean }
  /** Dropping a refused LITERAL+ literal, then the rest of its command. */
  | { kind: 'skip'; remaining: number }
  /** Dropping the rest of a refused command up to its final line end. */
  | { kind: 'discard'; tail: Buffer };

const LITERAL_AT_END = /\{(\d{1,20})(\+?)\}$/;
const DEFAULT_LITERAL_LIMIT = 64 * 1024;

export class ImapReceiver {
  private readonly maxLineBytes: number;
  private readonly maxListDepth: number;
  private readonly literalLimit: (command: string) => number;
  private input: Buffer[] = [];
  private inputBytes = 0;
  private mode: Mode = { kind: 'line' };
  private lineParts: Buffer[] = [];
  private lineBytes = 0;
  private rawLine = false;
  // The command being framed.
  private texts: Buffer[] = [];
  private literals: FramedCommand['literals'] = [];
  private textBytes = 0;
  private literalBytes = 0;
  private tag: string | null = null;
  private name = '';

  constructor(opts: ReceiverOptions = {}) {
    this.maxLineBytes = opts.maxLineBytes ?? 65536;
    this.maxListDepth = opts.maxListDepth ?? 16;
    this.literalLimit = opts.literalLimit ?? (() => DEFAULT_LITERAL_LIMIT);
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.input.push(chunk);
    this.inputBytes += chunk.length;
  }

  /** Input received but not yet consumed (the socket layer pauses reading above a threshold). */
  get bufferedBytes(): number {
    return this.inputBytes + this.lineBytes;
  }

  /** Drops everything received and not yet consumed (after STARTTLS, RFC 3501 6.2.1). */
  discardInput(): void {
    this.input = [];
    this.inputBytes = 0;
    this.lineParts = [];
    this.lineBytes = 0;
    this.mode = { kind: 'line' };
    this.rawLine = false;
    this.texts = [];
    this.literals = [];
    this.textBytes = 0;
    this.literalBytes = 0;
    this.tag = null;
    this.name = '';
  }

  /** The next complete line is returned raw as a 'line' event instead of being a command. */
  expectLine(): void {
    this.rawLine = true;
  }

  next(): ReceiverEvent | null {
    while (this.input.length > 0) {
      const ev = this.step();
      if (ev) return ev;
    }
    return null;
  }

  /** Consumes from the first input chunk; returns an event when one is complete. */
  private step(): ReceiverEvent | null {
    const chunk = this.input[0]!;
    const mode = this.mode;
    if (mode.kind === 'literal' || mode.kind === 'skip') {
      const n = Math.min(mode.remaining, chunk.length);
      if (mode.kind === 'literal') mode.parts.push(chunk.subarray(0, n));
      mode.remaining -= n;
      this.consume(n);
      if (mode.remaining > 0) return null;
      if (mode.kind === 'literal') {
        this.literals.push({ data: Buffer.concat(mode.parts), nonSync: mode.nonSync });
        this.mode = { kind: 'line' };
      } else {
        this.mode = { kind: 'discard', tail: Buffer.alloc(0) };
      }
      return null;
    }
    const lf = chunk.indexOf(0x0a);
    const part = lf < 0 ? chunk : chunk.subarray(0, lf);
    this.consume(lf < 0 ? chunk.length : lf + 1);
    if (mode.kind === 'discard') {
      // Only the end matters: does the dropped line announce a literal that will follow?
      mode.tail = Buffer.concat([mode.tail, part]).subarray(-24);
      return lf < 0 ? null : this.endDiscardedLine(mode.tail);
    }
    const limit = this.rawLine ? this.maxLineBytes : this.maxLineBytes - this.textBytes;
    if (this.lineBytes + part.length > limit) {
      const head = this.lineParts.length > 0 ? Buffer.concat([...this.lineParts, part]) : part;
      this.lineParts = [];
      this.lineBytes = 0;
      if (this.rawLine) {
        this.rawLine = false;
        if (lf >= 0) return { kind: 'line', line: Buffer.alloc(0), tooLong: true };
        this.mode = { kind: 'discard', tail: Buffer.alloc(0) };
        return { kind: 'line', line: Buffer.alloc(0), tooLong: true };
      }
      const tag = this.texts.length === 0 ? extractTag(head) : this.tag;
      const tail = head.subarray(-24);
      this.resetCommand();
      if (lf < 0) this.mode = { kind: 'discard', tail };
      else this.endDiscardedLine(tail);
      return { kind: 'error', tag, status: 'BAD', text: 'Command line too long' };
    }
    this.lineParts.push(part);
    this.lineBytes += part.length;
    if (lf < 0) return null;
    let line = this.lineParts.length === 1 ? this.lineParts[0]! : Buffer.concat(this.lineParts);
    this.lineParts = [];
    this.lineBytes = 0;
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    if (this.rawLine) {
      this.rawLine = false;
      return { kind: 'line', line, tooLong: false };
    }
    return this.endLine(line);
  }

  private consume(n: number): void {
    const chunk = this.input[0]!;
    this.inputBytes -= n;
    if (n >= chunk.length) this.input.shift();
    else this.input[0] = chunk.subarray(n);
  }

  /** A complete text segment of the command being framed. */
  private endLine(line: Buffer): ReceiverEvent | null {
    if (this.texts.length === 0) {
      this.tag = extractTag(line);
      this.name = commandNameOf(line);
    }
    this.texts.push(line);
    this.textBytes += line.length;
    const lit = literalAtEnd(line);
    if (!lit) {
      const framed: FramedCommand = { texts: this.texts, literals: this.literals };
      this.resetCommand();
      const parsed = parseCommand(framed, this.maxListDepth);
      if (parsed.ok) return { kind: 'command', command: parsed.command };
      return { kind: 'error', tag: parsed.tag, status: 'BAD', text: parsed.text };
    }
    const allowed = this.literalLimit(this.name) - this.literalBytes;
    if (lit.size > allowed) {
      const tag = this.tag;
      this.resetCommand();
      // A synchronizing literal is never sent by the client once we refuse it (RFC 3501 7.5);
      // a LITERAL+ one is on its way: skip its bytes and whatever follows up to the line end.
      if (lit.nonSync) this.mode = { kind: 'skip', remaining: lit.size };
      return lit.nonSync
        ? { kind: 'error', tag, status: 'BAD', code: 'TOOBIG', text: 'Literal too big' }
        : { kind: 'error', tag, status: 'NO', code: 'TOOBIG', text: 'Literal too big' };
    }
    this.literalBytes += lit.size;
    this.mode = { kind: 'literal', remaining: lit.size, parts: [], nonSync: lit.nonSync };
    if (lit.size === 0) {
      this.literals.push({ data: Buffer.alloc(0), nonSync: lit.nonSync });
      this.mode = { kind: 'line' };
    }
    return lit.nonSync ? null : { kind: 'continue' };
  }

  /** The end of a line of a refused command: a LITERAL+ announcement there must be skipped. */
  private endDiscardedLine(tail: Buffer): null {
    const m = LITERAL_AT_END.exec(trimCr(tail).toString('latin1'));
    this.mode = m && m[2] === '+' ? { kind: 'skip', remaining: Number(m[1]) } : { kind: 'line' };
    return null;
  }

  private resetCommand(): void {
    this.texts = [];
    this.literals = [];
    this.textBytes = 0;
    this.literalBytes = 0;
    this.tag = null;
    this.name = '';
  }
}

function trimCr(b: Buffer): Buffer {
  return b.length > 0 && b[b.length - 1] === 0x0d ? b.subarray(0, b.length - 1) : b;
}

/** "APPEND", or "UID FETCH": what literalLimit is asked about. */
function commandNameOf(line: Buffer): string {
  const words = line.toString('latin1', 0, Math.min(line.length, 64)).split(' ');
  const name = (words[1] ?? '').toUpperCase();
  return name === 'UID' ? `UID ${(words[2] ?? '').toUpperCase()}` : name;
}

/** The literal announced at the end of a line, outside any quoted string. */
function literalAtEnd(line: Buffer): { size: number; nonSync: boolean } | null {
  if (line.length < 3 || line[line.length - 1] !== 0x7d) return null;
  let inQuote = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (inQuote && c === 0x5c) i++;
    else if (c === 0x22) inQuote = !inQuote;
  }
  if (inQuote) return null;
  const m = LITERAL_AT_END.exec(line.toString('latin1', Math.max(0, line.length - 24)));
  if (!m) return null;
  const before = line.length - m[0].length - 1;
  // "{" starts a token only after a space or "(" (an atom cannot contain "{").
  if (before >= 0 && line[before] !== 0x20 && line[before] !== 0x28) return null;
  const size = Number(m[1]);
  return { size: Number.isSafeInteger(size) ? size : Number.MAX_SAFE_INTEGER, nonSync: m[2] === '+' };
}

/** For tests and tools: every event from a complete byte string. */
export function receiveAll(bytes: Buffer, opts: ReceiverOptions = {}): ReceiverEvent[] {
  const r = new ImapReceiver(opts);
  r.push(bytes);
  const out: ReceiverEvent[] = [];
  for (let ev = r.next(); ev; ev = r.next()) out.push(ev);
  return out;
}
