// In-process lookup cache: bounded (LRU), time-limited, with negative entries, and with
// concurrent misses for one key sharing one load. Every relay recipient and every MMP login
// starts with a directory lookup, so this is what keeps LDAP traffic proportional to distinct
// users rather than to messages. Negative entries matter as much: spam to unknown addresses
// would otherwise cost one search each.

export interface CacheOptions {
  ttlMs: number;
  negativeTtlMs: number;
  /** 0 disables caching (every lookup goes to the server; loads are still coalesced). */
  maxEntries: number;
  now?: () => number;
}

interface Slot {
  value: unknown;
  expiresAt: number;
  /** Normalized DN of the entry behind a positive value, to invalidate all its keys at once. */
  dn: string | undefined;
}

export interface Loaded<T> {
  value: T | null;
  dn?: string | undefined;
}

/** Lower case and no blanks around separators: enough to compare DNs that tiermail wrote. */
export function normalizeDn(dn: string): string {
  return dn
    .trim()
    .replace(/\s*([,=+])\s*/g, '$1')
    .toLowerCase();
}

export class LookupCache {
  private readonly slots = new Map<string, Slot>();
  private readonly keysByDn = new Map<string, Set<string>>();
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly now: () => number;
  // Bumped by invalidate(): a load that started before it must not store what it read.
  private generation = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly opts: CacheOptions) {
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.slots.size;
  }

  /** The cached value (null for a cached "not found"), or undefined when absent or expired. */
  peek<T>(key: string): T | null | undefined {
    const slot = this.slots.get(key);
    if (!slot) return undefined;
    if (slot.expiresAt <= this.now()) {
      this.remove(key);
      return undefined;
    }
    // Re-insert: Map iteration order is insertion order, so the first key is the LRU one.
    this.slots.delete(key);
    this.slots.set(key, slot);
    return slot.value as T | null;
  }

  set<T>(key: string, loaded: Loaded<T>): void {
    if (this.opts.maxEntries <= 0) return;
    const ttl = loaded.value === null ? this.opts.negativeTtlMs : this.opts.ttlMs;
    if (ttl <= 0) return;
    this.remove(key);
    const dn = loaded.value !== null && loaded.dn ? normalizeDn(loaded.dn) : undefined;
    this.slots.set(key, { value: loaded.value, expiresAt: this.now() + ttl, dn });
    if (dn) {
      let keys = this.keysByDn.get(dn);
      if (!keys) this.keysByDn.set(dn, (keys = new Set()));
      keys.add(key);
    }
    while (this.slots.size > this.opts.maxEntries) {
      const oldest = this.slots.keys().next().value;
      if (oldest === undefined) break;
      this.remove(oldest);
    }
  }

  /**
   * Cached value, or the result of `load` (stored, then returned). Concurrent calls for one
   * key while a load runs wait for that load instead of starting their own.
   */
  async getOrLoad<T>(key: string, load: () => Promise<Loaded<T>>): Promise<T | null> {
    const cached = this.peek<T>(key);
    if (cached !== undefined) {
      this.hits++;
      return cached;
    }
    const running = this.inflight.get(key);
    if (running) {
      this.hits++;
      return running as Promise<T | null>;
    }
    this.misses++;
    const generation = this.generation;
    const promise = load().then(
      (loaded) => {
        if (generation === this.generation) this.set(key, loaded);
        return loaded.value;
      },
    );
    this.inflight.set(key, promise);
    try {
      return await promise;
    } finally {
      this.inflight.delete(key);
    }
  }

  /**
   * Forget `key` (any kind: an address, "uid@domain", a domain or a DN) and, when it named an
   * entry, every other key cached for that entry (its other addresses). No key: forget all.
   */
  invalidate(key?: string): number {
    this.generation++;
    if (key === undefined) {
      const n = this.slots.size;
      this.slots.clear();
      this.keysByDn.clear();
      return n;
    }
    const wanted = key.trim().toLowerCase();
    const dns = new Set<string>();
    const keys: string[] = [];
    for (const [k, slot] of this.slots) {
      if (k === wanted || k.endsWith(`:${wanted}`)) {
        keys.push(k);
        if (slot.dn) dns.add(slot.dn);
      }
    }
    dns.add(normalizeDn(key));
    for (const dn of dns) for (const k of this.keysByDn.get(dn) ?? []) keys.push(k);
    let removed = 0;
    for (const k of keys) if (this.remove(k)) removed++;
    return removed;
  }

  private remove(key: string): boolean {
    const slot = this.slots.get(key);
    if (!slot) return false;
    this.slots.delete(key);
    if (slot.dn) {
      const keys = this.keysByDn.get(slot.dn);
      keys?.delete(key);
      if (keys?.size === 0) this.keysByDn.delete(slot.dn);
    }
    return true;
  }
}
