// "Something changed in this user's mailboxes": how IMAP sessions in IDLE (and selected
// sessions between commands) learn about deliveries and other sessions' changes at once,
// whichever worker process or store host made them. Local sessions are told directly; other
// processes through Redis pub/sub on `<keyPrefix>store:changed` (internal, unlike the
// documented ENS events). The message carries only the user: a session that hears it asks the
// engine what changed (MODSEQ), so a lost or duplicated notice costs a query, never a wrong
// view, and sessions still poll slowly in case Redis is down.
import { randomBytes } from 'node:crypto';
import type { Logger, RedisClient } from '@tiermail/core';

export type ChangeListener = () => void;

export interface ChangeFeed {
  /** Calls listener whenever the user's mailboxes may have changed; returns the unsubscribe. */
  watch(user: string, listener: ChangeListener): () => void;
  /** Tells every watcher of the user, here and in other processes. */
  notify(user: string): void;
}

interface Wire {
  u: string;
  /** Sender instance: a process ignores its own messages (it told its watchers already). */
  i: string;
}

export class StoreChanges implements ChangeFeed {
  private readonly watchers = new Map<string, Set<ChangeListener>>();
  private readonly instance = randomBytes(8).toString('hex');
  private readonly channel: string;
  sent = 0;
  received = 0;

  /**
   * publisher: any connection (not in subscriber mode); subscriber: a connection of its own,
   * which this class puts in subscriber mode. Both absent: this process only (tests, tools).
   */
  constructor(
    keyPrefix: string,
    private readonly publisher?: RedisClient,
    private readonly subscriber?: RedisClient,
    private readonly logger?: Logger,
  ) {
    this.channel = `${keyPrefix}store:changed`;
    if (subscriber) {
      subscriber.on('message', (channel: string, body: string) => {
        if (channel === this.channel) this.onMessage(body);
      });
      // ioredis re-subscribes after a reconnect by itself.
      subscriber.subscribe(this.channel).catch((err: unknown) => logger?.warn({ err }, 'store changes: subscribe failed'));
    }
  }

  watch(user: string, listener: ChangeListener): () => void {
    const key = user.toLowerCase();
    let set = this.watchers.get(key);
    if (!set) this.watchers.set(key, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.watchers.get(key) === set) this.watchers.delete(key);
    };
  }

  notify(user: string): void {
    this.dispatch(user.toLowerCase());
    const p = this.publisher;
    if (!p || p.status !== 'ready') return;
    const wire: Wire = { u: user.toLowerCase(), i: this.instance };
    p.publish(this.channel, JSON.stringify(wire)).then(
      () => {
        this.sent += 1;
      },
      () => undefined,
    );
  }

  /** Users with at least one watcher here (status and tests). */
  watchedUsers(): number {
    return this.watchers.size;
  }

  private onMessage(body: string): void {
    let wire: Partial<Wire>;
    try {
      wire = JSON.parse(body) as Partial<Wire>;
    } catch {
      return;
    }
    if (typeof wire.u !== 'string' || wire.i === this.instance) return;
    this.received += 1;
    this.dispatch(wire.u);
  }

  private dispatch(key: string): void {
    const set = this.watchers.get(key);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener();
      } catch (err) {
        this.logger?.error({ err }, 'store changes: listener failed');
      }
    }
  }
}
