// Reading a command's arguments in order, with a BAD that names what was expected. Commands
// declare their grammar by the calls they make (astring, list, number ...) and finish with
// end(), so trailing garbage is refused rather than ignored.
import { bad } from '../errors.js';
import type { ImapArg } from '../parser.js';

export function argText(a: ImapArg): string | null {
  switch (a.type) {
    case 'atom':
    case 'quoted':
      return a.value;
    case 'literal':
      return a.value.toString('utf8');
    case 'nil':
      return 'NIL';
    default:
      return null;
  }
}

export class Args {
  private i = 0;

  constructor(private readonly items: ImapArg[]) {}

  get remaining(): number {
    return this.items.length - this.i;
  }

  peek(): ImapArg | undefined {
    return this.items[this.i];
  }

  next(what: string): ImapArg {
    const a = this.items[this.i];
    if (!a) throw bad(`Missing ${what}`);
    this.i++;
    return a;
  }

  atom(what: string): string {
    const a = this.next(what);
    if (a.type === 'nil') return 'NIL';
    if (a.type !== 'atom') throw bad(`Expected ${what}`);
    return a.value;
  }

  /** astring: atom, quoted string or literal (NIL is the string "NIL" here). */
  astring(what: string): string {
    const text = argText(this.next(what));
    if (text === null) throw bad(`Expected ${what}`);
    return text;
  }

  /** string: quoted or literal only. */
  string(what: string): string {
    const a = this.next(what);
    if (a.type === 'quoted') return a.value;
    if (a.type === 'literal') return a.value.toString('utf8');
    throw bad(`Expected ${what} as a string`);
  }

  literalOrString(what: string): Buffer {
    const a = this.next(what);
    if (a.type === 'literal') return a.value;
    if (a.type === 'quoted') return Buffer.from(a.value, 'utf8');
    throw bad(`Expected ${what}`);
  }

  number(what: string): number {
    const text = this.atom(what);
    if (!/^\d{1,10}$/.test(text) || Number(text) > 0xffffffff) throw bad(`Expected ${what} as a number`);
    return Number(text);
  }

  list(what: string): ImapArg[] {
    const a = this.next(what);
    if (a.type !== 'list') throw bad(`Expected ${what} as a list`);
    return a.items;
  }

  end(): void {
    if (this.i < this.items.length) throw bad('Unexpected extra arguments');
  }
}

/** A flag a client may store (RFC 3501 flag): the five system flags or a keyword atom.
 * \Recent is the server's and is refused like any unknown system flag. */
export function parseFlag(a: ImapArg): string {
  if (a.type !== 'atom') throw bad('Invalid flag');
  const v = a.value;
  if (v.startsWith('\\')) {
    const system = SYSTEM_FLAGS.find((f) => f.toLowerCase() === v.toLowerCase());
    if (!system) throw bad(`Invalid system flag ${v}`);
    return system;
  }
  if (!/^[!#$&'+,\-.0-9:;<=>?@A-Z^_`a-z|~]{1,128}$/.test(v)) throw bad(`Invalid keyword ${v}`);
  return v;
}

export const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];
