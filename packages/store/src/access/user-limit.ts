// Sessions one user may hold at once in this process (store.maxConnectionsPerUser), shared by
// the IMAP and POP3 servers of a worker. Per process on purpose: a shared counter would need a
// store that outlives crashes (a killed worker would leak its counts); with W workers a user can
// hold at most W times the limit, which still stops a runaway client from taking a worker.
export class UserSessionLimit {
  private readonly counts = new Map<string, number>();

  /** @param max 0 for no limit */
  constructor(private readonly max: number) {}

  /** Takes a slot; false when the user is at the limit. */
  acquire(user: string): boolean {
    const key = user.toLowerCase();
    const n = this.counts.get(key) ?? 0;
    if (this.max > 0 && n >= this.max) return false;
    this.counts.set(key, n + 1);
    return true;
  }

  release(user: string): void {
    const key = user.toLowerCase();
    const n = (this.counts.get(key) ?? 0) - 1;
    if (n <= 0) this.counts.delete(key);
    else this.counts.set(key, n);
  }

  sessions(user: string): number {
    return this.counts.get(user.toLowerCase()) ?? 0;
  }
}
