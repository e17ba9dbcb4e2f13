// Users being moved to another store (`tiermail user move`), as every store process sees them:
// a Redis hash `<keyPrefix>moves` (user → {state, to}) and a pub/sub channel
// `<keyPrefix>moves:changed` naming the user whose entry changed. While a user is `locked`
// the store takes no new mail for them (LMTP 451, the relay retries) and no new logins; once
// `moved`, LMTP answers 423 naming the new store (the relay redirects there at once), logins
// are refused and open sessions are ended so clients reconnect through the MMP to the new store.
import type { Logger, RedisClient } from '@tiermail/core';

/** from: the store the user leaves; only that store acts on the entry. */
export type MoveState = { state: 'locked' | 'moved'; from?: string; to: string; at?: string };

export interface MoveLookup {
  stateOf(user: string): MoveState | undefined;
}

export function movesKey(keyPrefix: string): string {
  return `${keyPrefix}moves`;
}

export function movesChannel(keyPrefix: string): string {
  return `${keyPrefix}moves:changed`;
}

function parse(text: string | null | undefined): MoveState | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as Partial<MoveState>;
    if ((v.state === 'locked' || v.state === 'moved') && typeof v.to === 'string') {
      return { state: v.state, to: v.to, ...(typeof v.from === 'string' ? { from: v.from } : {}), ...(v.at ? { at: v.at } : {}) };
    }
  } catch {
    // a damaged entry counts as none
  }
  return undefined;
}

export class MoveStates implements MoveLookup {
  private readonly states = new Map<string, MoveState>();
  private readonly listeners = new Set<(user: string) => void>();

  constructor(
    /** This store's host name: entries of users leaving another store are not ours. */
    private readonly host: string,
    private readonly keyPrefix: string,
    private readonly reader: RedisClient | undefined,
    private readonly subscriber: RedisClient | undefined,
    private readonly logger?: Logger,
  ) {}

  /**
   * Follows changes and loads every entry, now and whenever Redis (re)connects; never waits
   * for Redis. Without Redis, nobody is being moved.
   */
  start(): void {
    const channel = movesChannel(this.keyPrefix);
    if (this.subscriber) {
      this.subscriber.on('message', (ch: string, user: string) => {
        if (ch === channel) void this.reload(user);
      });
      this.subscriber.subscribe(channel).catch((err: unknown) => this.logger?.warn({ err }, 'moves: subscribe failed'));
    }
    const reader = this.reader;
    if (!reader) return;
    const loadAll = async (): Promise<void> => {
      try {
        const all = await reader.hgetall(movesKey(this.keyPrefix));
        this.states.clear();
        for (const [user, v] of Object.entries(all)) {
          const s = parse(v);
          if (s) this.states.set(user.toLowerCase(), s);
        }
      } catch (err) {
        this.logger?.warn({ err }, 'moves: cannot read the move list (Redis unavailable)');
      }
    };
    reader.on('ready', () => void loadAll());
    if (reader.status === 'ready') void loadAll();
  }

  private async reload(user: string): Promise<void> {
    const key = user.toLowerCase();
    try {
      const s = parse(await this.reader?.hget(movesKey(this.keyPrefix), key));
      if (s) this.states.set(key, s);
      else this.states.delete(key);
    } catch (err) {
      this.logger?.warn({ err, user }, 'moves: cannot read an entry');
      return;
    }
    for (const l of this.listeners) l(key);
  }

  stateOf(user: string): MoveState | undefined {
    const s = this.states.get(user.toLowerCase());
    if (!s || s.to === this.host || (s.from !== undefined && s.from !== this.host)) return undefined;
    return s;
  }

  /** Called after a user's entry changed (sessions of a moved user are ended). */
  onChange(listener: (user: string) => void): void {
    this.listeners.add(listener);
  }
}
