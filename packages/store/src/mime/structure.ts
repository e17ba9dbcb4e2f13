// The MIME structure of a stored message (RFC 2045-2046, RFC 3501's view of it): a tree of
// parts with their headers, body byte ranges, sizes and line counts. Multipart bodies are
// split at their boundaries (the line end before a boundary belongs to it, RFC 2046 5.1.1; a
// missing final boundary ends at the end of the body); message/rfc822 parts contain a parsed
// message. Depth and part count are limited so a hostile message costs bounded work: past the
// limits a part is treated as opaque data.
import { headerFields } from '../imap/message-parts.js';
import { parseHeaderValue, type HeaderValue } from './params.js';

export const MAX_DEPTH = 50;
export const MAX_PARTS = 5000;

export interface MimePart {
  /** The whole buffer the offsets refer to. */
  buf: Buffer;
  /** Header block (with its final blank line), then the body. */
  headerStart: number;
  headerEnd: number;
  bodyStart: number;
  bodyEnd: number;
  /** Header fields as (lower-case name, unfolded raw value) in order. */
  fields: Array<[string, string]>;
  type: string;
  subtype: string;
  params: Array<[string, string]>;
  /** Children of a multipart. */
  parts?: MimePart[];
  /** The encapsulated message of a message/rfc822 (or message/global) part. */
  message?: MimePart;
}

function headerEndOf(buf: Buffer, start: number, end: number): { headerEnd: number; bodyStart: number } {
  if (buf[start] === 0x0a) return { headerEnd: start, bodyStart: start + 1 };
  if (buf[start] === 0x0d && buf[start + 1] === 0x0a) return { headerEnd: start, bodyStart: start + 2 };
  for (let i = start; i < end; i++) {
    if (buf[i] !== 0x0a) continue;
    if (buf[i + 1] === 0x0a) return { headerEnd: i + 2, bodyStart: i + 2 };
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return { headerEnd: i + 3, bodyStart: i + 3 };
  }
  return { headerEnd: end, bodyStart: end };
}

export function fieldValue(part: MimePart, name: string): string | null {
  const f = part.fields.find(([n]) => n === name);
  return f ? f[1] : null;
}

export function contentTypeOf(part: MimePart): HeaderValue | null {
  const raw = fieldValue(part, 'content-type');
  return raw ? parseHeaderValue(raw, { decode: false }) : null;
}

/** Byte ranges of the parts of a multipart body. */
function splitMultipart(buf: Buffer, start: number, end: number, boundary: string): Array<[number, number]> {
  const delim = Buffer.from(`--${boundary}`, 'latin1');
  const ranges: Array<[number, number]> = [];
  let partStart = -1;
  let pos = start;
  while (pos < end) {
    const at = buf.indexOf(delim, pos);
    if (at < 0 || at >= end) break;
    const atLineStart = at === start || buf[at - 1] === 0x0a;
    const after = at + delim.length;
    if (!atLineStart) {
      pos = after;
      continue;
    }
    const closing = buf[after] === 0x2d && buf[after + 1] === 0x2d;
    // The line end before the delimiter belongs to it.
    let contentEnd = at;
    if (contentEnd > start && buf[contentEnd - 1] === 0x0a) contentEnd--;
    if (contentEnd > start && buf[contentEnd - 1] === 0x0d) contentEnd--;
    if (partStart >= 0) ranges.push([partStart, Math.max(partStart, contentEnd)]);
    if (closing) return ranges;
    const nl = buf.indexOf(0x0a, after);
    partStart = nl < 0 || nl >= end ? end : nl + 1;
    pos = partStart;
  }
  if (partStart >= 0) ranges.push([partStart, end]); // no closing delimiter: the rest is the last part
  return ranges;
}

interface Budget {
  parts: number;
}

function parsePart(buf: Buffer, start: number, end: number, depth: number, budget: Budget, digest: boolean): MimePart {
  budget.parts++;
  const { headerEnd, bodyStart } = headerEndOf(buf, start, end);
  const fields = headerFields(buf.subarray(start, headerEnd)).map((f): [string, string] => {
    const text = f.raw.toString('utf8');
    return [f.name.toLowerCase(), text.slice(text.indexOf(':') + 1).replace(/\r?\n(?=[ \t])/g, '').trim()];
  });
  const part: MimePart = { buf, headerStart: start, headerEnd, bodyStart, bodyEnd: end, fields, type: 'text', subtype: 'plain', params: [['charset', 'us-ascii']] };
  const ct = contentTypeOf(part);
  const slash = ct?.value.indexOf('/') ?? -1;
  if (ct && slash > 0 && slash < ct.value.length - 1) {
    part.type = ct.value.slice(0, slash);
    part.subtype = ct.value.slice(slash + 1);
    part.params = ct.params;
  } else if (digest) {
    // RFC 2046 5.1.5: parts of a multipart/digest default to message/rfc822.
    part.type = 'message';
    part.subtype = 'rfc822';
    part.params = [];
  }
  const type = part.type.toLowerCase();
  const sub = part.subtype.toLowerCase();
  const deeper = depth < MAX_DEPTH && budget.parts < MAX_PARTS;
  if (type === 'multipart' && deeper) {
    const boundary = part.params.find(([k]) => k === 'boundary')?.[1];
    if (boundary) {
      part.parts = [];
      for (const [s, e] of splitMultipart(buf, bodyStart, end, boundary)) {
        if (budget.parts >= MAX_PARTS) break;
        part.parts.push(parsePart(buf, s, e, depth + 1, budget, sub === 'digest'));
      }
    }
  } else if (type === 'message' && (sub === 'rfc822' || sub === 'global') && deeper) {
    part.message = parsePart(buf, bodyStart, end, depth + 1, budget, false);
  }
  return part;
}

export function parseMessage(buf: Buffer): MimePart {
  return parsePart(buf, 0, buf.length, 0, { parts: 0 }, false);
}

/** Lines of a body as RFC 3501 counts them: line ends, plus an unterminated last line. */
export function bodyLines(part: MimePart): number {
  let n = 0;
  for (let i = part.bodyStart; i < part.bodyEnd; i++) if (part.buf[i] === 0x0a) n++;
  if (part.bodyEnd > part.bodyStart && part.buf[part.bodyEnd - 1] !== 0x0a) n++;
  return n;
}

/**
 * The part a section number names (RFC 3501 6.4.5): "1.2.3". For a message or a
 * message/rfc822 part, numbers go into its body; part 1 of a non-multipart body is the body.
 * Null when there is no such part.
 */
export function findPart(root: MimePart, path: number[]): MimePart | null {
  let cur: MimePart = root;
  let isMessage = true; // the root is a message; so is the inside of a message/rfc822 part
  for (const n of path) {
    const container = cur.message ?? cur;
    const message = isMessage || cur.message !== undefined;
    if (container.parts) {
      const next = container.parts[n - 1];
      if (!next) return null;
      cur = next;
    } else {
      // Only a message without parts has a part 1 (its body); a leaf part has no sub-parts.
      if (n !== 1 || !message) return null;
      cur = container;
    }
    isMessage = false;
  }
  return cur;
}
