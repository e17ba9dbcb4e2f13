// THREAD algorithms of RFC 5256 (pure): ORDEREDSUBJECT and REFERENCES (the "jwz" algorithm of
// section 3), and the response syntax: "(1 2)" a parent and its only child, "(1 (2)(3))" a
// parent with two children, "((1)(2))" siblings under a missing (dummy) parent.

export interface ThreadMessage {
  /** Sequence number or UID, as the response uses. */
  id: number;
  messageId: string | null;
  /** References, else the first In-Reply-To id (RFC 5256 3 step 1A). */
  references: string[];
  baseSubject: string;
  /** The subject had a reply/forward marker (used when grouping roots by subject). */
  isReply: boolean;
  /** Sent date (Date header, else INTERNALDATE), epoch ms. */
  date: number;
}

interface Container {
  message?: ThreadMessage;
  parent?: Container;
  children: Container[];
}

const firstDate = (c: Container): number => c.message?.date ?? Math.min(...c.children.map(firstDate), Number.MAX_SAFE_INTEGER);
const firstId = (c: Container): number => c.message?.id ?? Math.min(...c.children.map(firstId), Number.MAX_SAFE_INTEGER);
const byDate = (a: Container, b: Container): number => firstDate(a) - firstDate(b) || firstId(a) - firstId(b);

function format(c: Container): string {
  const parts: string[] = [];
  let cur = c;
  for (;;) {
    if (cur.message) parts.push(String(cur.message.id));
    if (cur.children.length === 1 && cur.message) {
      cur = cur.children[0]!;
      continue;
    }
    if (cur.children.length > 0) parts.push(cur.children.map((ch) => `(${format(ch)})`).join(''));
    return parts.join(' ');
  }
}

function render(roots: Container[]): string {
  return roots.map((r) => `(${format(r)})`).join('');
}

export function orderedSubject(msgs: readonly ThreadMessage[]): string {
  const groups = new Map<string, ThreadMessage[]>();
  for (const m of [...msgs].sort((a, b) => a.date - b.date || a.id - b.id)) {
    const list = groups.get(m.baseSubject) ?? [];
    list.push(m);
    groups.set(m.baseSubject, list);
  }
  const roots: Container[] = [...groups.values()].map(([first, ...rest]) => ({
    message: first!,
    children: rest.map((m) => ({ message: m, children: [] })),
  }));
  return render(roots.sort(byDate));
}

function isAncestor(a: Container, b: Container): boolean {
  for (let p: Container | undefined = b; p; p = p.parent) if (p === a) return true;
  return false;
}

function link(parent: Container, child: Container): void {
  if (child.parent || parent === child || isAncestor(child, parent)) return;
  child.parent = parent;
  parent.children.push(child);
}

function unlink(child: Container): void {
  const p = child.parent;
  if (!p) return;
  p.children = p.children.filter((c) => c !== child);
  child.parent = undefined;
}

/** Step 4: empty containers go; their children move up (at the root, only a single child). */
function prune(list: Container[], atRoot: boolean): Container[] {
  const out: Container[] = [];
  for (const c of list) {
    c.children = prune(c.children, false);
    for (const ch of c.children) ch.parent = c;
    if (c.message) out.push(c);
    else if (c.children.length === 0) continue;
    else if (!atRoot || c.children.length === 1) out.push(...c.children);
    else out.push(c);
  }
  return out;
}

export function referencesThreads(msgs: readonly ThreadMessage[]): string {
  const table = new Map<string, Container>();
  const get = (id: string): Container => {
    let c = table.get(id);
    if (!c) table.set(id, (c = { children: [] }));
    return c;
  };
  let unique = 0;
  for (const m of msgs) {
    // A missing or duplicate Message-ID gets a unique one (RFC 5256 3 step 1A).
    const key = m.messageId && !table.get(m.messageId)?.message ? m.messageId : `\u0000${unique++}`;
    const own = get(key);
    own.message = m;
    let prev: Container | undefined;
    for (const ref of m.references) {
      const c = get(ref);
      if (prev) link(prev, c);
      prev = c;
    }
    unlink(own);
    if (prev && prev !== own && !isAncestor(own, prev)) link(prev, own);
  }
  let roots = prune([...table.values()].filter((c) => !c.parent), true);
  for (const r of roots) r.parent = undefined;
  // Step 5: roots with the same base subject are gathered.
  const bySubject = new Map<string, Container>();
  const subjectOf = (c: Container): ThreadMessage | undefined => c.message ?? c.children[0]?.message;
  const kept: Container[] = [];
  for (const r of roots.sort(byDate)) {
    const m = subjectOf(r);
    const subj = m?.baseSubject ?? '';
    const other = subj ? bySubject.get(subj) : undefined;
    if (!other) {
      if (subj) bySubject.set(subj, r);
      kept.push(r);
      continue;
    }
    if (!other.message) {
      other.children.push(...(r.message ? [r] : r.children));
    } else if (m?.isReply && !subjectOf(other)?.isReply) {
      other.children.push(r);
    } else {
      const dummy: Container = { children: [other, r] };
      kept.splice(kept.indexOf(other), 1, dummy);
      bySubject.set(subj, dummy);
    }
  }
  roots = kept;
  const sortTree = (list: Container[]): void => {
    list.sort(byDate);
    for (const c of list) sortTree(c.children);
  };
  sortTree(roots);
  return render(roots);
}
