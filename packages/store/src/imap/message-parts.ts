// The parts of a stored message that FETCH and SEARCH need without a MIME parser: the header
// block, the text after it, selected header fields, unfolded header values, and RFC 2047
// encoded words decoded for matching. MIME structure (part numbers, BODYSTRUCTURE) is the
// job of the MIME module that comes next; nothing here guesses at it.

/** Offset just past the blank line that ends the header (the whole message if there is none). */
export function headerEnd(msg: Buffer): number {
  for (let i = 0; i < msg.length; i++) {
    if (msg[i] !== 0x0a) continue;
    if (msg[i + 1] === 0x0a) return i + 2;
    if (msg[i + 1] === 0x0d && msg[i + 2] === 0x0a) return i + 3;
  }
  return msg.length;
}

export function headerOf(msg: Buffer): Buffer {
  return msg.subarray(0, headerEnd(msg));
}

export function textOf(msg: Buffer): Buffer {
  return msg.subarray(headerEnd(msg));
}

interface Field {
  name: string;
  raw: Buffer;
}

/** Header fields in order, each with its raw bytes (continuation lines and line end included). */
export function headerFields(header: Buffer): Field[] {
  const out: Field[] = [];
  let start = 0;
  let i = 0;
  while (i < header.length) {
    const lf = header.indexOf(0x0a, i);
    const next = lf < 0 ? header.length : lf + 1;
    const c = header[next];
    // A field goes on while the next line starts with white space (RFC 5322 folding).
    if (next < header.length && (c === 0x20 || c === 0x09)) {
      i = next;
      continue;
    }
    const raw = header.subarray(start, next);
    const colon = raw.indexOf(0x3a);
    const line = raw.toString('latin1').replace(/\r?\n$/, '');
    if (colon > 0 && line.trim() !== '') out.push({ name: raw.toString('latin1', 0, colon).trim(), raw });
    start = next;
    i = next;
  }
  return out;
}

/** BODY[HEADER.FIELDS (...)] / HEADER.FIELDS.NOT: the chosen fields and the blank line. */
export function selectHeaderFields(header: Buffer, names: readonly string[], not: boolean): Buffer {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const picked = headerFields(header).filter((f) => wanted.has(f.name.toLowerCase()) !== not);
  return Buffer.concat([...picked.map((f) => f.raw), Buffer.from('\r\n')]);
}

/** Unfolded values of a header field, RFC 2047 words decoded (for SEARCH). */
export function headerValues(header: Buffer, name: string): string[] {
  const lower = name.toLowerCase();
  return headerFields(header)
    .filter((f) => f.name.toLowerCase() === lower)
    .map((f) => {
      const text = f.raw.toString('utf8');
      return decodeEncodedWords(text.slice(text.indexOf(':') + 1).replace(/\r?\n[ \t]/g, ' ').trim());
    });
}

/** RFC 2047 encoded words (=?charset?B|Q?text?=) to text; unknown charsets stay as they are. */
export function decodeEncodedWords(value: string): string {
  return value
    .replace(/(=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g, (whole, charset: string, enc: string, text: string) => {
      try {
        const bytes =
          enc.toUpperCase() === 'B'
            ? Buffer.from(text, 'base64')
            : Buffer.from(
                text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
                'latin1',
              );
        return new TextDecoder(charset.replace(/\*.*$/, '').toLowerCase()).decode(bytes);
      } catch {
        return whole;
      }
    });
}
