// One envelope is updated by one delivery at a time: a message with recipients on two stores
// has two jobs, and both rewrite the same envelope file. Envelopes are only written by the
// job-controller process (the SMTP workers write each envelope once, before anyone else can
// know its id), so an in-process lock per id is enough.
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
