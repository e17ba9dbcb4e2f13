// ENVELOPE, BODY and BODYSTRUCTURE as RFC 3501 7.4.2 spells them, from a parsed MIME tree.
// Header values are sent as written (RFC 2047 words are not decoded here, clients do it);
// missing fields are NIL; Sender and Reply-To default to From.
import { encodeNString, encodeString } from '../imap/encode.js';
import { parseAddressList, type EnvelopeAddress } from './address.js';
import { parseHeaderValue } from './params.js';
import { bodyLines, fieldValue, type MimePart } from './structure.js';

const nstr = (s: string | null | undefined): string => encodeNString(s ?? null);

function addressList(value: string | null): string {
  if (value === null) return 'NIL';
  const list = parseAddressList(value);
  if (list.length === 0) return 'NIL';
  const one = (a: EnvelopeAddress): string => `(${nstr(a.name)} ${nstr(a.adl)} ${nstr(a.mailbox)} ${nstr(a.host)})`;
  return `(${list.map(one).join('')})`;
}

/** ENVELOPE of a message (the root, or the message inside a message/rfc822 part). */
export function envelope(msg: MimePart): string {
  const f = (n: string): string | null => fieldValue(msg, n);
  const from = f('from');
  const sender = f('sender') ?? from;
  const replyTo = f('reply-to') ?? from;
  return `(${nstr(f('date'))} ${nstr(f('subject'))} ${addressList(from)} ${addressList(sender)} ${addressList(replyTo)} ${addressList(f('to'))} ${addressList(f('cc'))} ${addressList(f('bcc'))} ${nstr(f('in-reply-to'))} ${nstr(f('message-id'))})`;
}

function paramList(params: Array<[string, string]>): string {
  if (params.length === 0) return 'NIL';
  return `(${params.map(([k, v]) => `${encodeString(k)} ${encodeString(v)}`).join(' ')})`;
}

/** body-fld-dsp: ("attachment" ("filename" "x")) or NIL. */
function disposition(part: MimePart): string {
  const raw = fieldValue(part, 'content-disposition');
  if (!raw) return 'NIL';
  const d = parseHeaderValue(raw, { decode: false });
  if (!d.value) return 'NIL';
  return `(${encodeString(d.value)} ${paramList(d.params)})`;
}

function language(part: MimePart): string {
  const raw = fieldValue(part, 'content-language');
  if (!raw) return 'NIL';
  const langs = raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (langs.length === 0) return 'NIL';
  return langs.length === 1 ? encodeString(langs[0]!) : `(${langs.map(encodeString).join(' ')})`;
}

function extension(part: MimePart, multipart: boolean): string {
  const loc = nstr(fieldValue(part, 'content-location'));
  const dsp = disposition(part);
  const lang = language(part);
  return multipart ? `${paramList(part.params)} ${dsp} ${lang} ${loc}` : `${nstr(fieldValue(part, 'content-md5'))} ${dsp} ${lang} ${loc}`;
}

/** BODYSTRUCTURE (extended = true) or BODY (extended = false) of a part. */
export function bodyStructure(part: MimePart, extended: boolean): string {
  if (part.parts && part.parts.length > 0) {
    const children = part.parts.map((p) => bodyStructure(p, extended)).join('');
    return `(${children} ${encodeString(part.subtype)}${extended ? ` ${extension(part, true)}` : ''})`;
  }
  const type = part.type.toLowerCase();
  const encoding = fieldValue(part, 'content-transfer-encoding')?.trim() || '7bit';
  const size = part.bodyEnd - part.bodyStart;
  // A multipart without parts (no boundary found) is described as opaque data.
  const [t, s] = part.parts ? ['application', 'octet-stream'] : [part.type, part.subtype];
  const fields = `${encodeString(t)} ${encodeString(s)} ${paramList(part.params)} ${nstr(fieldValue(part, 'content-id'))} ${nstr(fieldValue(part, 'content-description'))} ${encodeString(encoding)} ${size}`;
  let specific = '';
  if (part.message) specific = ` ${envelope(part.message)} ${bodyStructure(part.message, extended)} ${bodyLines(part)}`;
  else if (type === 'text' && !part.parts) specific = ` ${bodyLines(part)}`;
  return `(${fields}${specific}${extended ? ` ${extension(part, false)}` : ''})`;
}
