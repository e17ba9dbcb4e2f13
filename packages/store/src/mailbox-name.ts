// Mailbox names as IMAP4rev1 sends them: modified UTF-7 (RFC 3501 5.1.3), hierarchy separator
// "/", INBOX case-insensitive. The engine stores and compares names in this wire form, so every
// protocol and the CLI agree on one canonical spelling. Names never become file paths (mailbox
// directories are named by random ids), but they are still refused when they could confuse a
// client or a tool: empty levels, "." and "..", control characters, LIST wildcards.

export const MAILBOX_SEPARATOR = '/';
export const INBOX = 'INBOX';
/** Longest level between separators, in bytes of the encoded (ASCII) form. */
export const MAX_MAILBOX_LEVEL_BYTES = 255;
/** Longest whole name, in bytes of the encoded form. */
export const MAX_MAILBOX_NAME_BYTES = 1024;
/** Deepest hierarchy accepted; deeper trees only serve to make LIST expensive. */
export const MAX_MAILBOX_DEPTH = 32;

export type MailboxNameProblem =
  | 'empty'
  | 'too-long'
  | 'level-too-long'
  | 'too-deep'
  | 'leading-separator'
  | 'trailing-separator'
  | 'empty-level'
  | 'dot-level'
  | 'control-character'
  | 'wildcard'
  | 'bad-utf7';

export class MailboxNameError extends Error {
  constructor(
    readonly problem: MailboxNameProblem,
    readonly mailboxName: string,
  ) {
    super(`invalid mailbox name ${JSON.stringify(mailboxName)}: ${problem}`);
    this.name = 'MailboxNameError';
  }
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';
const BASE64_VALUE = new Map([...BASE64].map((c, i) => [c, i]));

function isDirect(code: number): boolean {
  return code >= 0x20 && code <= 0x7e;
}

function isControl(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}

/** Encodes a Unicode name to modified UTF-7 (no validation of hierarchy rules). */
export function encodeModifiedUtf7(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (isDirect(code)) {
      out += code === 0x26 ? '&-' : text[i];
      i++;
      continue;
    }
    // Collect the whole run of non-direct UTF-16 units so it becomes one shifted sequence:
    // two adjacent sequences would not be canonical.
    const units: number[] = [];
    while (i < text.length && !isDirect(text.charCodeAt(i))) units.push(text.charCodeAt(i++));
    const bytes: number[] = [];
    for (const u of units) bytes.push(u >> 8, u & 0xff);
    let bits = 0;
    let acc = 0;
    out += '&';
    for (const b of bytes) {
      acc = (acc << 8) | b;
      bits += 8;
      while (bits >= 6) {
        bits -= 6;
        out += BASE64[(acc >> bits) & 0x3f];
      }
    }
    if (bits > 0) out += BASE64[(acc << (6 - bits)) & 0x3f];
    out += '-';
  }
  return out;
}

/**
 * Decodes modified UTF-7. Throws MailboxNameError('bad-utf7') on anything RFC 3501 forbids:
 * raw non-ASCII, an unterminated shift, bad base64, non-zero padding bits, an odd byte count,
 * unpaired surrogates, printable ASCII inside a shift, or a non-canonical spelling.
 */
export function decodeModifiedUtf7(encoded: string): string {
  const fail = (): never => {
    throw new MailboxNameError('bad-utf7', encoded);
  };
  let out = '';
  let i = 0;
  while (i < encoded.length) {
    const code = encoded.charCodeAt(i);
    if (!isDirect(code)) fail();
    if (code !== 0x26) {
      out += encoded[i++];
      continue;
    }
    const end = encoded.indexOf('-', i + 1);
    if (end < 0) fail();
    const chunk = encoded.slice(i + 1, end);
    i = end + 1;
    if (chunk === '') {
      out += '&';
      continue;
    }
    let acc = 0;
    let bits = 0;
    const bytes: number[] = [];
    for (const c of chunk) {
      const v = BASE64_VALUE.get(c);
      if (v === undefined) fail();
      acc = ((acc << 6) | v!) & 0xffffff;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        bytes.push((acc >> bits) & 0xff);
      }
    }
    if (bits >= 6 || (acc & ((1 << bits) - 1)) !== 0 || bytes.length % 2 !== 0) fail();
    for (let k = 0; k < bytes.length; k += 2) {
      const unit = (bytes[k]! << 8) | bytes[k + 1]!;
      if (isDirect(unit)) fail();
      out += String.fromCharCode(unit);
    }
  }
  if (!isWellFormedUtf16(out)) fail();
  // Adjacent shifted sequences and other spellings of the same text are refused: one name,
  // one spelling, so two clients cannot create look-alike mailboxes.
  if (encodeModifiedUtf7(out) !== encoded) fail();
  return out;
}

function isWellFormedUtf16(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

/**
 * Validates a mailbox name in wire form and returns its canonical spelling (a first level
 * equal to INBOX in any case becomes "INBOX"). Throws MailboxNameError.
 */
export function normalizeMailboxName(name: string): string {
  const bad = (problem: MailboxNameProblem): never => {
    throw new MailboxNameError(problem, name);
  };
  if (name.length === 0) bad('empty');
  for (let i = 0; i < name.length; i++) if (isControl(name.charCodeAt(i))) bad('control-character');
  if (name.length > MAX_MAILBOX_NAME_BYTES) bad('too-long');
  if (name.startsWith(MAILBOX_SEPARATOR)) bad('leading-separator');
  if (name.endsWith(MAILBOX_SEPARATOR)) bad('trailing-separator');
  if (name.includes('*') || name.includes('%')) bad('wildcard');
  const levels = name.split(MAILBOX_SEPARATOR);
  if (levels.length > MAX_MAILBOX_DEPTH) bad('too-deep');
  for (const level of levels) {
    if (level === '') bad('empty-level');
    if (level === '.' || level === '..') bad('dot-level');
    if (level.length > MAX_MAILBOX_LEVEL_BYTES) bad('level-too-long');
    const decoded = decodeModifiedUtf7(level);
    for (let i = 0; i < decoded.length; i++) if (isControl(decoded.charCodeAt(i))) bad('control-character');
  }
  if (levels[0]!.toUpperCase() === INBOX) levels[0] = INBOX;
  return levels.join(MAILBOX_SEPARATOR);
}

/** Like normalizeMailboxName but answers instead of throwing. */
export function checkMailboxName(
  name: string,
): { ok: true; name: string } | { ok: false; problem: MailboxNameProblem } {
  try {
    return { ok: true, name: normalizeMailboxName(name) };
  } catch (err) {
    if (err instanceof MailboxNameError) return { ok: false, problem: err.problem };
    throw err;
  }
}

/** For people and the CLI: a Unicode name ("Entwürfe/2024") to its validated wire form. */
export function mailboxNameFromUnicode(text: string): string {
  return normalizeMailboxName(encodeModifiedUtf7(text));
}

/** For display: a wire-form name to Unicode. */
export function mailboxNameToUnicode(name: string): string {
  return name
    .split(MAILBOX_SEPARATOR)
    .map((level) => decodeModifiedUtf7(level))
    .join(MAILBOX_SEPARATOR);
}

export function isInbox(name: string): boolean {
  return name.toUpperCase() === INBOX;
}

/** Every superior name of a (normalized) name, outermost first: "a/b/c" gives ["a", "a/b"]. */
export function mailboxAncestors(name: string): string[] {
  const levels = name.split(MAILBOX_SEPARATOR);
  const out: string[] = [];
  for (let i = 1; i < levels.length; i++) out.push(levels.slice(0, i).join(MAILBOX_SEPARATOR));
  return out;
}
