// Minimal LDIF writer (RFC 2849) for the entries tiermail generates: enough to be safe with any
// value (base64 when a value is not a plain "SAFE-STRING"), nothing more.

export type LdifValue = string | number;
export type LdifAttributes = ReadonlyArray<readonly [name: string, value: LdifValue | readonly LdifValue[] | undefined]>;

// SAFE-STRING from RFC 2849: no NUL/LF/CR anywhere, no leading space, colon or '<', ASCII only.
// Trailing spaces are legal LDIF but are silently lost by many tools, so they get base64 too.
function needsBase64(value: string): boolean {
  return value !== '' && (/^[ :<]/.test(value) || / $/.test(value) || /[^\x01-\x09\x0b\x0c\x0e-\x7f]/.test(value));
}

/** One "name: value" line (or "name:: base64"), folded at 76 columns. */
export function ldifLine(name: string, value: LdifValue): string {
  const text = String(value);
  const line = needsBase64(text) ? `${name}:: ${Buffer.from(text, 'utf8').toString('base64')}` : `${name}: ${text}`;
  return fold(line);
}

function fold(line: string, width = 76): string {
  if (line.length <= width) return line;
  const parts = [line.slice(0, width)];
  for (let i = width; i < line.length; i += width - 1) parts.push(' ' + line.slice(i, i + width - 1));
  return parts.join('\n');
}

/** An entry block: dn line, then each attribute value on its own line; undefined is skipped. */
export function ldifEntry(dn: string, attributes: LdifAttributes): string {
  const lines = [ldifLine('dn', dn)];
  for (const [name, value] of attributes) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value as LdifValue];
    for (const v of values) lines.push(ldifLine(name, v));
  }
  return lines.join('\n') + '\n';
}

/** Entries separated by the blank line LDIF requires. */
export function ldifJoin(blocks: readonly string[]): string {
  return blocks.map((b) => b.replace(/\n+$/, '\n')).join('\n');
}

/** Escapes a value for use inside a DN (RFC 4514), e.g. a uid with a comma. */
export function escapeDnValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, '\\ ')
    .replace(/\0/g, '\\00');
}
