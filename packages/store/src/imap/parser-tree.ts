// The second half of the IMAP command parser: a complete command, as the receiver framed it
// (text segments with the literals that came between them), becomes a tag, a command name and
// a typed argument tree. Pure and bounded: the receiver already enforced the byte limits; this
// file enforces the list depth and the grammar of tokens (RFC 3501 section 9).
//
// Atoms are read permissively (any printable ASCII but SP, parentheses, braces and quotes), so
// "\Seen", "1:*" and "INBOX/%" are atoms here; each command checks the atoms it expects. A "["
// inside an atom opens a section that may contain spaces and lists up to its "]": that is how
// FETCH items such as BODY[HEADER.FIELDS (From To)]<0.100> arrive as one atom, as in Dovecot.

export type ImapArg =
  | { type: 'atom'; value: string }
  | { type: 'quoted'; value: string }
  | { type: 'literal'; value: Buffer; nonSync: boolean }
  | { type: 'list'; items: ImapArg[] }
  | { type: 'nil' };

export interface ImapCommand {
  tag: string;
  /** Upper case; "UID" is kept as a command of its own, its sub-command is the first atom. */
  name: string;
  args: ImapArg[];
}

/** A command as the receiver framed it: texts.length === literals.length + 1. */
export interface FramedCommand {
  texts: Buffer[];
  literals: Array<{ data: Buffer; nonSync: boolean }>;
}

export type ParseResult = { ok: true; command: ImapCommand } | { ok: false; tag: string | null; text: string };

const SP = 0x20;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

/** tag = 1*<any ASTRING-CHAR except "+"> (RFC 3501 section 9). */
export function isTagChar(c: number): boolean {
  if (c <= 0x20 || c >= 0x7f) return false;
  return !'(){%*"\\+'.includes(String.fromCharCode(c));
}

/** The tag at the start of a command line, or null when there is no valid one. */
export function extractTag(line: Buffer): string | null {
  let end = 0;
  while (end < line.length && line[end] !== SP) {
    if (!isTagChar(line[end]!)) return null;
    end++;
  }
  if (end === 0 || end > 64) return null;
  return line.toString('latin1', 0, end);
}

function isAtomChar(c: number): boolean {
  return c > 0x20 && c < 0x7f && c !== 0x28 && c !== 0x29 && c !== 0x7b && c !== DQUOTE;
}

class SyntaxError extends Error {}

class Cursor {
  seg = 0;
  pos = 0;
  constructor(private readonly cmd: FramedCommand) {}

  get text(): Buffer {
    return this.cmd.texts[this.seg]!;
  }
  atSegmentEnd(): boolean {
    return this.pos >= this.text.length;
  }
  atEnd(): boolean {
    return this.atSegmentEnd() && this.seg === this.cmd.texts.length - 1;
  }
  peek(): number {
    return this.atSegmentEnd() ? -1 : this.text[this.pos]!;
  }
  /** The literal announced at the end of the current segment; moves to the next segment. */
  takeLiteral(): { data: Buffer; nonSync: boolean } {
    const lit = this.cmd.literals[this.seg];
    if (!lit || !this.atSegmentEnd()) throw new SyntaxError('Literal announcement not at end of line');
    this.seg++;
    this.pos = 0;
    return lit;
  }
}

export function parseCommand(cmd: FramedCommand, maxListDepth = 16): ParseResult {
  const first = cmd.texts[0] ?? Buffer.alloc(0);
  const tag = extractTag(first);
  if (tag === null) return { ok: false, tag: null, text: 'Missing or invalid tag' };
  const cur = new Cursor(cmd);
  cur.pos = Buffer.byteLength(tag, 'latin1');
  try {
    if (cur.peek() !== SP) throw new SyntaxError('Missing command');
    cur.pos++;
    const nameArg = readToken(cur, 0, maxListDepth);
    if (nameArg?.type !== 'atom' || !/^[A-Za-z][A-Za-z0-9.-]*$/.test(nameArg.value)) throw new SyntaxError('Invalid command name');
    const args: ImapArg[] = [];
    while (!cur.atEnd()) {
      if (cur.peek() !== SP) throw new SyntaxError('Expected a space between arguments');
      cur.pos++;
      // Some clients end a line with a space; tolerate it rather than fail the command.
      if (cur.atEnd()) break;
      const arg = readToken(cur, 0, maxListDepth);
      if (!arg) throw new SyntaxError('Unexpected ")"');
      args.push(arg);
    }
    return { ok: true, command: { tag, name: nameArg.value.toUpperCase(), args } };
  } catch (err) {
    if (err instanceof SyntaxError) return { ok: false, tag, text: err.message };
    throw err;
  }
}

/** One token at the cursor; null when the cursor is at ")" (end of the enclosing list). */
function readToken(cur: Cursor, depth: number, maxDepth: number): ImapArg | null {
  const c = cur.peek();
  if (c === -1) {
    if (cur.atEnd()) throw new SyntaxError('Missing argument');
    throw new SyntaxError('Unexpected end of line');
  }
  if (c === 0x29) return null;
  if (c === DQUOTE) return readQuoted(cur);
  if (c === 0x7b) return readLiteral(cur);
  if (c === 0x28) return readList(cur, depth + 1, maxDepth);
  return readAtom(cur);
}

function readQuoted(cur: Cursor): ImapArg {
  const text = cur.text;
  const bytes: number[] = [];
  let i = cur.pos + 1;
  for (;;) {
    if (i >= text.length) throw new SyntaxError('Unterminated quoted string');
    const c = text[i]!;
    if (c === DQUOTE) break;
    if (c === 0) throw new SyntaxError('NUL in quoted string');
    if (c === BACKSLASH) {
      const next = text[i + 1];
      if (next !== DQUOTE && next !== BACKSLASH) throw new SyntaxError('Invalid escape in quoted string');
      bytes.push(next);
      i += 2;
      continue;
    }
    bytes.push(c);
    i++;
  }
  cur.pos = i + 1;
  return { type: 'quoted', value: Buffer.from(bytes).toString('utf8') };
}

function readLiteral(cur: Cursor): ImapArg {
  const m = /^\{(\d{1,20})(\+?)\}$/.exec(cur.text.toString('latin1', cur.pos));
  if (!m) throw new SyntaxError('Invalid literal announcement');
  cur.pos = cur.text.length;
  const lit = cur.takeLiteral();
  if (lit.data.length !== Number(m[1])) throw new SyntaxError('Literal length mismatch');
  return { type: 'literal', value: lit.data, nonSync: lit.nonSync };
}

function readList(cur: Cursor, depth: number, maxDepth: number): ImapArg {
  if (depth > maxDepth) throw new SyntaxError('Lists nested too deeply');
  cur.pos++;
  const items: ImapArg[] = [];
  for (;;) {
    if (cur.atEnd()) throw new SyntaxError('Unterminated list');
    if (cur.peek() === 0x29) {
      cur.pos++;
      return { type: 'list', items };
    }
    if (items.length > 0) {
      if (cur.peek() !== SP) throw new SyntaxError('Expected a space or ")" in list');
      cur.pos++;
    }
    const item = readToken(cur, depth, maxDepth);
    if (!item) throw new SyntaxError('Unexpected ")"');
    items.push(item);
  }
}

function readAtom(cur: Cursor): ImapArg {
  const text = cur.text;
  const start = cur.pos;
  let i = start;
  let bracket = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (bracket > 0) {
      // Inside [...] of a FETCH section: spaces, lists and quoted header names are allowed.
      if (c === 0x5d) bracket--;
      else if (c === 0x5b) bracket++;
      else if (c === DQUOTE) {
        i++;
        while (i < text.length && text[i] !== DQUOTE) i += text[i] === BACKSLASH ? 2 : 1;
        if (i >= text.length) throw new SyntaxError('Unterminated quoted string in section');
      } else if (c < 0x20 || c >= 0x7f) throw new SyntaxError('Invalid character in section');
      i++;
      continue;
    }
    if (c === 0x5b) {
      bracket++;
      i++;
      continue;
    }
    if (!isAtomChar(c)) break;
    i++;
  }
  if (bracket > 0) throw new SyntaxError('Unterminated "[" in atom');
  if (i === start) {
    const c = text[i]!;
    throw new SyntaxError(c < 0x20 || c >= 0x7f ? 'Invalid character in command' : `Unexpected "${String.fromCharCode(c)}"`);
  }
  cur.pos = i;
  const value = text.toString('latin1', start, i);
  if (value.toUpperCase() === 'NIL') return { type: 'nil' };
  return { type: 'atom', value };
}
