// Failed logins make the next attempt from the same client address, or for the same user,
// wait longer (per worker): base delay x (1 + failures in the last 15 minutes), at most 30 s.
// A guesser spreading over connections gains nothing; a user who mistyped once barely notices.
const WINDOW_MS = 15 * 60_000;
const MAX_DELAY_MS = 30_000;
const MAX_KEYS = 100_000;

export class LoginFailures {
  private readonly seen = new Map<string, number[]>();

  constructor(
    private readonly baseMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  private count(key: string): number {
    const list = this.seen.get(key);
    if (!list) return 0;
    const cutoff = this.now() - WINDOW_MS;
    while (list.length && list[0]! < cutoff) list.shift();
    if (list.length === 0) this.seen.delete(key);
    return list.length;
  }

  /** How long to wait before answering a failed login (the failure itself included). */
  record(ip: string, user: string): number {
    for (const key of [`ip:${ip}`, `user:${user.toLowerCase()}`]) {
      const list = this.seen.get(key) ?? [];
      list.push(this.now());
      this.seen.set(key, list);
    }
    // Bounded memory under a flood of distinct keys: forget the oldest entries.
    while (this.seen.size > MAX_KEYS) this.seen.delete(this.seen.keys().next().value!);
    const n = Math.max(this.count(`ip:${ip}`), this.count(`user:${user.toLowerCase()}`));
    return Math.min(MAX_DELAY_MS, this.baseMs * n);
  }
}
