// Response encoding, the counterpart of the parser: strings as quoted strings when they can be,
// literals when they must be (CR, LF, NUL, 8-bit, quotes make a quoted string impossible or
// fragile), flag lists, status responses. Pure; the session joins the pieces into lines.

/** Longest string sent quoted; longer ones go as literals (clients' line limits). */
const MAX_QUOTED = 1024;

function quotable(s: string): boolean {
  if (s.length > MAX_QUOTED) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f) return false;
  }
  return true;
}

/** A string argument: "quoted" (with \ and " escaped) or a {n} literal. */
export function encodeString(s: string): string {
  if (quotable(s)) return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  return `{${Buffer.byteLength(s, 'utf8')}}\r\n${s}`;
}

/** nstring: NIL for null. */
export function encodeNString(s: string | null): string {
  return s === null ? 'NIL' : encodeString(s);
}

/** A literal prefix for raw bytes; the caller sends the bytes right after it. */
export function literalPrefix(bytes: Buffer): string {
  return `{${bytes.length}}\r\n`;
}

/** astring: the bare atom when it is one, else a string (mailbox names in LIST, STATUS). */
export function encodeAstring(s: string): string {
  return /^[!#$&'+,\-./0-9:;<=>?@A-Z[^_`a-z|~\]]+$/.test(s) && s.toUpperCase() !== 'NIL' ? s : encodeString(s);
}

export function encodeFlagList(flags: readonly string[]): string {
  return `(${flags.join(' ')})`;
}

export type Status = 'OK' | 'NO' | 'BAD' | 'BYE' | 'PREAUTH';

/** `tag STATUS [code] text`, without CRLF; tag "*" for untagged. */
export function statusLine(tag: string, status: Status, text: string, code?: string): string {
  // Text is free-form but must stay on one line whatever an error message contains.
  const clean = text.replace(/[\r\n\0]+/g, ' ');
  return `${tag} ${status} ${code ? `[${code}] ` : ''}${clean}`;
}
