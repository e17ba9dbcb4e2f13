// Address lists for ENVELOPE (RFC 3501 7.4.2, RFC 5322 3.4): each address as (name adl mailbox
// host); a group as a start marker (NIL NIL "group" NIL), its members, and an end marker
// (NIL NIL NIL NIL). Display names are kept as written (encoded words are not decoded, as
// RFC 3501 wants); quotes and comments around them are removed. Tolerant of broken input.

export interface EnvelopeAddress {
  name: string | null;
  adl: string | null;
  mailbox: string | null;
  host: string | null;
}

type Token = { t: 'word'; v: string } | { t: 'quoted'; v: string } | { t: 'special'; v: string } | { t: 'angle'; v: string };

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
    } else if (c === '(') {
      let depth = 1;
      i++;
      while (i < s.length && depth > 0) {
        if (s[i] === '\\') i++;
        else if (s[i] === '(') depth++;
        else if (s[i] === ')') depth--;
        i++;
      }
    } else if (c === '"') {
      let v = '';
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        v += s[i++];
      }
      i++;
      out.push({ t: 'quoted', v });
    } else if (c === '<') {
      const end = s.indexOf('>', i);
      out.push({ t: 'angle', v: s.slice(i + 1, end < 0 ? s.length : end) });
      i = end < 0 ? s.length : end + 1;
    } else if (',:;@'.includes(c)) {
      out.push({ t: 'special', v: c });
      i++;
    } else {
      let v = '';
      while (i < s.length && !' \t\r\n(",:;@<'.includes(s[i]!)) v += s[i++];
      out.push({ t: 'word', v });
    }
  }
  return out;
}

function splitAddrSpec(spec: string): { mailbox: string | null; host: string | null; adl: string | null } {
  let adl: string | null = null;
  let rest = spec.trim();
  // Obsolete source route: @a,@b:user@host
  const route = /^(@[^:]+):(.*)$/.exec(rest);
  if (route) {
    adl = route[1]!;
    rest = route[2]!;
  }
  const at = rest.lastIndexOf('@');
  if (at < 0) return { mailbox: rest || null, host: null, adl };
  return { mailbox: rest.slice(0, at).replace(/^"(.*)"$/, '$1') || null, host: rest.slice(at + 1) || null, adl };
}

function mailboxOf(tokens: Token[]): EnvelopeAddress | null {
  if (tokens.length === 0) return null;
  const angle = tokens.find((t) => t.t === 'angle');
  if (angle) {
    const words = tokens.slice(0, tokens.indexOf(angle)).map((t) => t.v);
    const { mailbox, host, adl } = splitAddrSpec(angle.v);
    return { name: words.length ? words.join(' ') : null, adl, mailbox, host };
  }
  const text = tokens.map((t) => (t.t === 'quoted' ? `"${t.v}"` : t.v)).join('');
  const { mailbox, host, adl } = splitAddrSpec(text);
  return { name: null, adl, mailbox, host };
}

export function parseAddressList(value: string): EnvelopeAddress[] {
  const tokens = tokenize(value);
  const out: EnvelopeAddress[] = [];
  let cur: Token[] = [];
  let inGroup = false;
  const flush = (): void => {
    const a = mailboxOf(cur);
    if (a && (a.mailbox !== null || a.host !== null)) out.push(a);
    cur = [];
  };
  for (const t of tokens) {
    if (t.t === 'special' && t.v === ':' && !inGroup && !cur.some((x) => x.t === 'angle')) {
      out.push({ name: null, adl: null, mailbox: cur.map((x) => x.v).join(' '), host: null });
      cur = [];
      inGroup = true;
    } else if (t.t === 'special' && t.v === ';' && inGroup) {
      flush();
      out.push({ name: null, adl: null, mailbox: null, host: null });
      inGroup = false;
    } else if (t.t === 'special' && t.v === ',') {
      flush();
    } else {
      cur.push(t);
    }
  }
  flush();
  if (inGroup) out.push({ name: null, adl: null, mailbox: null, host: null });
  return out;
}
