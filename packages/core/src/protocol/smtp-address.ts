// Parsing of SMTP/LMTP command arguments: the <path> of MAIL/RCPT and the ESMTP parameters
// after it (RFC 5321 4.1.2, RFC 3461 xtext).

export interface PathAndParams {
  /** Address inside <>, without source route; '' for the null path <>. */
  address: string;
  params: Map<string, string | true>;
}

export class CommandSyntaxError extends Error {
  constructor(
    message: string,
    readonly reply = `501 5.5.4 ${message}`,
  ) {
    super(message);
    this.name = 'CommandSyntaxError';
  }
}

/** Parse `<addr> KEY=VALUE KEY` after "MAIL FROM:" or "RCPT TO:". */
export function parsePathAndParams(arg: string, maxAddress = 320): PathAndParams {
  const text = arg.trim();
  if (!text.startsWith('<')) throw new CommandSyntaxError('Syntax error: address must be in <>', '501 5.1.7 Syntax error: address must be in <>');
  // A quoted local part may contain '>'; find the closing bracket outside quotes.
  let i = 1;
  let quoted = false;
  for (; i < text.length; i += 1) {
    const c = text[i];
    if (c === '\\' && quoted) {
      i += 1;
      continue;
    }
    if (c === '"') quoted = !quoted;
    else if (c === '>' && !quoted) break;
  }
  if (i >= text.length) throw new CommandSyntaxError('Syntax error: missing >', '501 5.1.7 Syntax error: missing >');
  let address = text.slice(1, i);
  // Source routes (@a,@b:user@c) are obsolete; RFC 5321 says to accept and ignore them.
  if (address.startsWith('@')) {
    const colon = address.indexOf(':');
    if (colon < 0) throw new CommandSyntaxError('Syntax error in source route', '501 5.1.3 Syntax error in source route');
    address = address.slice(colon + 1);
  }
  if (address.length > maxAddress) throw new CommandSyntaxError('Address too long', '501 5.1.3 Address too long');
  if (/[\s\x00-\x1f\x7f]/.test(address.replace(/"[^"]*"/g, '""'))) {
    throw new CommandSyntaxError('Bad character in address', '501 5.1.3 Bad character in address');
  }
  if (address !== '' && !/^.+@[^@]+$/.test(address) && address.includes('@')) {
    throw new CommandSyntaxError('Syntax error in address', '501 5.1.3 Syntax error in address');
  }
  const params = new Map<string, string | true>();
  const rest = text.slice(i + 1).trim();
  if (rest !== '') {
    for (const p of rest.split(/\s+/)) {
      const eq = p.indexOf('=');
      const key = (eq < 0 ? p : p.slice(0, eq)).toUpperCase();
      if (!/^[A-Z0-9][A-Z0-9-]*$/.test(key)) throw new CommandSyntaxError(`Bad parameter ${p}`, `501 5.5.4 Bad parameter ${p}`);
      if (params.has(key)) throw new CommandSyntaxError(`Duplicate parameter ${key}`, `501 5.5.4 Duplicate parameter ${key}`);
      params.set(key, eq < 0 ? true : p.slice(eq + 1));
    }
  }
  return { address, params };
}

/** Decode RFC 3461 xtext ("+HH" escapes). */
export function decodeXtext(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i += 1) {
    const hex = text[i] === '+' ? text.slice(i + 1, i + 3) : '';
    if (/^[0-9A-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(text[i] as string, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Encode as RFC 3461 xtext: printable ASCII except '+' and '=' as is, others as +HH. */
export function encodeXtext(text: string): string {
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) {
    out += b >= 33 && b <= 126 && b !== 0x2b && b !== 0x3d ? String.fromCharCode(b) : `+${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Split local@domain at the last '@'; the domain is lower-cased. */
export function splitAddress(address: string): { local: string; domain: string } {
  const at = address.lastIndexOf('@');
  if (at < 0) return { local: address, domain: '' };
  return { local: address.slice(0, at), domain: address.slice(at + 1).toLowerCase() };
}
