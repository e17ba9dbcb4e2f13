// Content-Type and Content-Disposition values (RFC 2045 5.1, RFC 2183): a value and its
// parameters, with RFC 2231 continuations (name*0, name*1) and charset'language'encoded
// values (name*=utf-8''%E2%82%AC) joined and decoded. Malformed input degrades to what can be
// read; nothing here throws.

export interface HeaderValue {
  value: string;
  /** Parameters in order of first appearance; names lower-cased. */
  params: Array<[string, string]>;
}

/** Splits on ';' outside quoted strings and comments. */
function splitParams(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted) {
      if (c === '\\' && i + 1 < s.length) {
        cur += s[++i];
        continue;
      }
      if (c === '"') quoted = false;
      else cur += c;
      continue;
    }
    if (depth > 0) {
      if (c === '(') depth++;
      else if (c === ')') depth--;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === '(') depth++;
    else if (c === ';') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function decode2231(value: string): string {
  const m = /^([^']*)'[^']*'(.*)$/.exec(value);
  if (!m) return value;
  const bytes = Buffer.from(m[2]!.replace(/%([0-9A-Fa-f]{2})/g, (_x, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
  try {
    return new TextDecoder((m[1] || 'us-ascii').toLowerCase()).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/**
 * decode false: parameters exactly as written (names lower-cased, quotes removed), as IMAP
 * BODYSTRUCTURE sends them (clients decode RFC 2231 themselves, as with Dovecot).
 */
export function parseHeaderValue(raw: string, opts: { decode?: boolean } = {}): HeaderValue {
  const [first = '', ...rest] = splitParams(raw);
  if (opts.decode === false) {
    const params: Array<[string, string]> = [];
    for (const p of rest) {
      const eq = p.indexOf('=');
      if (eq > 0) params.push([p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim()]);
    }
    return { value: first.trim().replace(/\s+/g, ''), params };
  }
  const plain = new Map<string, string>();
  const parts = new Map<string, Array<{ n: number; v: string; enc: boolean }>>();
  const order: string[] = [];
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq <= 0) continue;
    const key = p.slice(0, eq).trim().toLowerCase();
    const val = p.slice(eq + 1).trim();
    const m = /^(.+?)\*(?:(\d+)(\*)?|(\*))?$/.exec(key);
    if (m && (m[2] !== undefined || m[4] !== undefined || key.endsWith('*'))) {
      const name = m[1]!;
      const list = parts.get(name) ?? [];
      list.push({ n: m[2] !== undefined ? Number(m[2]) : 0, v: val, enc: m[3] !== undefined || m[4] !== undefined || (m[2] === undefined && key.endsWith('*')) });
      parts.set(name, list);
      if (!order.includes(name)) order.push(name);
    } else {
      plain.set(key, val);
      if (!order.includes(key)) order.push(key);
    }
  }
  const params: Array<[string, string]> = [];
  for (const name of order) {
    const list = parts.get(name);
    if (!list) {
      params.push([name, plain.get(name)!]);
      continue;
    }
    list.sort((a, b) => a.n - b.n);
    // Only the first segment carries charset'language'; later encoded ones are %-escaped bytes.
    const first = list[0]!;
    if (first.enc) {
      const head = /^([^']*'[^']*')(.*)$/.exec(first.v);
      const joined = (head ? head[1]! : "''") + [head ? head[2]! : first.v, ...list.slice(1).map((x) => x.v)].join('');
      params.push([name, decode2231(joined)]);
    } else {
      params.push([name, list.map((x) => x.v).join('')]);
    }
  }
  return { value: first.trim().replace(/\s+/g, ''), params };
}
