// Address rewriting (relay.rewrite): ordered rules, each a regular expression over the whole
// address and a replacement with $1-style groups; the first rule that matches wins, and its
// result is not rewritten again (no loops). Pure, compiled once at start.
export interface RewriteRule {
  pattern: string;
  replacement: string;
}

export class AddressRewriter {
  private readonly rules: Array<{ re: RegExp; replacement: string }>;

  constructor(rules: readonly RewriteRule[]) {
    this.rules = rules.map((r) => ({ re: new RegExp(`^(?:${r.pattern})$`, 'i'), replacement: r.replacement }));
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** The rewritten address, or the address itself when no rule matches (or the result is empty). */
  rewrite(address: string): string {
    for (const { re, replacement } of this.rules) {
      if (!re.test(address)) continue;
      const out = address.replace(re, replacement).trim();
      return out === '' ? address : out;
    }
    return address;
  }
}
