// One IMAP connection's protocol state machine: bytes in (push), responses out (the sink).
// No sockets here: server.ts feeds it and writes what it produces, tests can drive it directly.
// Commands run strictly one after another (pipelined commands wait their turn); the receiver
// is consulted lazily, so a raw AUTHENTICATE line or new literal limits after login apply to
// exactly the input that follows the command that changed them.
import type { MoveLookup } from '../moves.js';
import type { Logger } from '@tiermail/core';
import { capabilities } from './capabilities.js';
import { Args } from './commands/args.js';
import { findCommand } from './commands/index.js';
import type { CommandContext, CommandSpec, Continuation, HandlerResult } from './commands/types.js';
import { statusLine } from './encode.js';
import { errorReply, type Tagged } from './errors.js';
import { ImapReceiver, type ImapCommand, type ReceiverEvent } from './parser.js';
import type { UserSessionLimit } from '../access/user-limit.js';
import type { EventSink } from '../events.js';
import type { ImapMetrics } from '../metrics.js';
import type { ChangeFeed } from '../changes.js';
import type { ImapState, ImapStore, LoginPolicy } from './state.js';

export interface ImapSessionOptions {
  store: ImapStore;
  login: LoginPolicy;
  /** The client's address (login policy, logs). @defaultValue "" */
  remoteAddress?: string;
  /** The connection is already encrypted (implicit TLS). @defaultValue false */
  secure?: boolean;
  /** STARTTLS can be offered (the server has a certificate). @defaultValue false */
  startTls?: boolean;
  /** Store events (ENS): Login, Logout, ReadMsg, UpdateMsg, DeleteMsg; none when absent. */
  events?: EventSink;
  /** Counters and timings (Prometheus); none when absent. */
  metrics?: ImapMetrics;
  /** Sessions per user in this process (store.maxConnectionsPerUser); no limit when absent. */
  userLimit?: UserSessionLimit;
  /** Where the session hears that the user's mailboxes changed elsewhere (IDLE). */
  changes?: ChangeFeed;
  /** Users moved to another store: a session of one is ended when the move completes. */
  moves?: MoveLookup;
  /** Ends the connection with this BYE text (set by the server). */
  onEvict?: (text: string) => void;
  /** While in IDLE, look for changes this often even without a notice (Redis down).
   * @defaultValue 15000 */
  idlePollMs?: number;
  /** Name in the greeting. @defaultValue "tiermail" */
  hostname?: string;
  /** Text of one command, literals excluded. @defaultValue 65536 */
  maxLineBytes?: number;
  /** Literal bytes per command other than APPEND, once logged in. @defaultValue 65536 */
  maxLiteralBytes?: number;
  /** Literal bytes per command before login (LOGIN and AUTHENTICATE only need a few).
   * @defaultValue 8192 */
  maxPreAuthLiteralBytes?: number;
  /** Largest message APPEND accepts (its literal). @defaultValue 52428800 */
  maxAppendBytes?: number;
  /** Pause before answering a failed login. @defaultValue 1000 */
  authFailureDelayMs?: number;
  /** Failed logins before the connection is closed. @defaultValue 3 */
  maxAuthFailures?: number;
  /** Consecutive BAD responses before the connection is closed. @defaultValue 20 */
  maxBadCommands?: number;
  /** Sent in the ID response. */
  serverId?: Record<string, string>;
  logger?: Logger;
}

/** Where responses go: write() buffers, flush() sends and waits while the peer is slow. */
export interface ResponseSink {
  write(data: string | Buffer): void;
  flush(): Promise<void>;
}

export class ImapSession {
  state: ImapState = { kind: 'not-authenticated' };
  /** Extensions the client turned on with ENABLE (none are enable-able yet). */
  readonly enabled = new Set<string>();
  authFailures = 0;
  readonly opts: Required<Omit<ImapSessionOptions, 'logger' | 'serverId' | 'changes' | 'userLimit' | 'metrics' | 'events' | 'moves' | 'onEvict'>> &
    Pick<ImapSessionOptions, 'logger' | 'serverId' | 'changes' | 'userLimit' | 'metrics' | 'events' | 'moves' | 'onEvict'>;
  private readonly receiver: ImapReceiver;
  private pending: { tag: string; spec: CommandSpec; cont: Continuation } | null = null;
  private badInARow = 0;
  /** Set by STARTTLS: the server upgrades the socket after the tagged OK, then calls tlsStarted(). */
  tlsRequested = false;
  private unwatch: (() => void) | null = null;
  /** The change feed told of a change since the last refresh. */
  private storeChanged = true;
  private refreshedAt = 0;
  private loggedInAs: string | null = null;
  private unwatchShared: (() => void) | null = null;
  /** The user whose slot in opts.userLimit this session holds. */
  private slotOf: string | null = null;
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(
    opts: ImapSessionOptions,
    private readonly sink: ResponseSink,
  ) {
    this.opts = {
      hostname: 'tiermail',
      maxLineBytes: 65536,
      maxLiteralBytes: 65536,
      maxPreAuthLiteralBytes: 8192,
      maxAppendBytes: 50 * 1024 * 1024,
      authFailureDelayMs: 1000,
      maxAuthFailures: 3,
      maxBadCommands: 20,
      remoteAddress: '',
      secure: false,
      startTls: false,
      idlePollMs: 15000,
      ...opts,
    };
    this.receiver = new ImapReceiver({ maxLineBytes: this.opts.maxLineBytes, literalLimit: (name) => this.literalLimit(name) });
  }

  get closed(): boolean {
    return this.state.kind === 'logout';
  }

  get logger(): Logger | undefined {
    return this.opts.logger;
  }

  get secure(): boolean {
    return this.opts.secure;
  }

  /** Passwords may be sent now (else LOGINDISABLED, RFC 3501 6.2.3). */
  get plaintextAllowed(): boolean {
    return this.opts.login.plaintextAllowed(this.opts.remoteAddress, this.opts.secure);
  }

  capabilities(): string[] {
    return capabilities(this.state.kind, {
      startTls: this.opts.startTls && !this.opts.secure,
      loginDisabled: !this.plaintextAllowed,
    });
  }

  /** The socket is now TLS: input read before the handshake is discarded (RFC 3501 6.2.1,
   * no plaintext command injection) and the capabilities change. */
  tlsStarted(): void {
    this.tlsRequested = false;
    this.opts.secure = true;
    this.receiver.discardInput();
  }

  greeting(): void {
    this.send(statusLine('*', 'OK', `${this.opts.hostname} IMAP4rev1 ready`, `CAPABILITY ${this.capabilities().join(' ')}`));
  }

  /** An untagged or continuation response line (CRLF added). */
  send(line: string): void {
    this.sink.write(`${line}\r\n`);
  }

  /** Bytes as they are (message literals). */
  sendRaw(data: string | Buffer): void {
    this.sink.write(data);
  }

  flush(): Promise<void> {
    return this.sink.flush();
  }

  push(chunk: Buffer): void {
    this.receiver.push(chunk);
  }

  get bufferedBytes(): number {
    return this.receiver.bufferedBytes;
  }

  /** Handles every complete event in the input, in order, until more input is needed. */
  async run(): Promise<void> {
    while (!this.closed) {
      const ev = this.receiver.next();
      if (!ev) break;
      await this.handleEvent(ev);
      await this.sink.flush();
      if (this.tlsRequested) break;
    }
  }

  /** Ends the session with a BYE (idle timeout, shutdown, too many errors). */
  bye(text: string): void {
    if (this.closed) return;
    this.send(statusLine('*', 'BYE', text));
    this.logout();
  }

  /** Enters Logout and releases the user's mailboxes; the server then closes the socket. */
  logout(): void {
    this.release();
    this.state = { kind: 'logout' };
  }

  /** CONDSTORE is on: by ENABLE, or by the first command that uses it (RFC 7162 3.1). */
  get condstore(): boolean {
    return this.enabled.has('CONDSTORE');
  }

  get qresync(): boolean {
    return this.enabled.has('QRESYNC');
  }

  enableCondstore(): void {
    this.enabled.add('CONDSTORE');
    if (this.state.kind === 'selected') this.state.selected.condstore = true;
  }

  /** Takes the user's session slot before login completes; false at the limit. */
  takeUserSlot(user: string): boolean {
    if (!this.opts.userLimit) return true;
    if (!this.opts.userLimit.acquire(user)) return false;
    this.slotOf = user;
    return true;
  }

  /** Logged in: from now on, changes made elsewhere reach this session (IDLE). */
  loggedIn(user: string): void {
    this.opts.events?.publish({ type: 'Login', user, service: 'imap', client: this.opts.remoteAddress });
    this.loggedInAs = user;
    this.unwatch?.();
    this.unwatch = this.opts.changes?.watch(user, () => {
      const move = this.opts.moves?.stateOf(user);
      if (move?.state === 'moved' && this.opts.onEvict) {
        this.opts.onEvict(`[UNAVAILABLE] Mailbox moved to another server; reconnect`);
        return;
      }
      this.onStoreChange();
    }) ?? null;
  }

  get idling(): boolean {
    return this.idleTimer !== null;
  }

  /** IDLE (RFC 2177): updates are pushed as they happen until the client says DONE. */
  startIdle(): void {
    this.stopIdle();
    this.idleTimer = setInterval(() => this.onStoreChange(), this.opts.idlePollMs);
    this.idleTimer.unref();
    // Changes made before IDLE began go out right after the continuation.
    setImmediate(() => this.onStoreChange());
  }

  stopIdle(): void {
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.idleTimer = null;
  }

  private onStoreChange(): void {
    this.storeChanged = true;
    if (!this.idling || this.closed) return;
    // No command is running during IDLE, so EXPUNGE responses are allowed (RFC 2177).
    this.sendUpdates(true);
    void this.sink.flush();
  }

  /** Releases the engine handle (also called when the socket closes). */
  release(): void {
    this.stopIdle();
    this.unwatch?.();
    this.unwatch = null;
    if (this.slotOf !== null) this.opts.userLimit?.release(this.slotOf);
    this.slotOf = null;
    if (this.loggedInAs !== null) this.opts.events?.publish({ type: 'Logout', user: this.loggedInAs, service: 'imap', client: this.opts.remoteAddress });
    this.loggedInAs = null;
    if (this.state.kind === 'selected') this.leaveSelected();
    if (this.state.kind === 'authenticated') this.state.mailboxes.close();
    this.state = { kind: 'not-authenticated' };
  }

  /** Back to Authenticated with the user's own mailboxes; another user's store, opened for a
   * shared mailbox, is closed. */
  leaveSelected(): void {
    const s = this.state;
    if (s.kind !== 'selected') return;
    if (s.mailboxes !== s.home) s.mailboxes.close();
    this.unwatchShared?.();
    this.unwatchShared = null;
    this.state = { kind: 'authenticated', user: s.user, mailboxes: s.home };
  }

  /** A shared mailbox is selected: its owner's changes must wake this session too (IDLE). */
  watchShared(owner: string): void {
    this.unwatchShared?.();
    this.unwatchShared = this.opts.changes?.watch(owner, () => this.onStoreChange()) ?? null;
  }

  private literalLimit(name: string): number {
    if (this.state.kind === 'not-authenticated') return this.opts.maxPreAuthLiteralBytes;
    return name === 'APPEND' ? this.opts.maxAppendBytes : this.opts.maxLiteralBytes;
  }

  private async handleEvent(ev: ReceiverEvent): Promise<void> {
    switch (ev.kind) {
      case 'continue':
        this.send('+ Ready for literal data');
        return;
      case 'error':
        this.send(statusLine(ev.tag ?? '*', ev.status, ev.text, ev.code));
        this.countBad(ev.status === 'BAD');
        return;
      case 'line': {
        const p = this.pending;
        this.pending = null;
        if (!p) return; // a raw line nobody waits for cannot happen; ignore it
        await this.finish(p.tag, p.spec, () => p.cont.onLine(ev.line, ev.tooLong));
        return;
      }
      case 'command':
        await this.dispatch(ev.command);
    }
  }

  private async dispatch(cmd: ImapCommand): Promise<void> {
    let name = cmd.name;
    let rawArgs = cmd.args;
    let uid = false;
    if (name === 'UID') {
      const sub = rawArgs[0];
      if (sub?.type !== 'atom') return this.reply(cmd.tag, { status: 'BAD', text: 'Missing UID command' });
      name = sub.value.toUpperCase();
      rawArgs = rawArgs.slice(1);
      uid = true;
    }
    const spec = findCommand(name);
    if (!spec || (uid && !spec.uid)) return this.reply(cmd.tag, { status: 'BAD', text: `Unknown command ${uid ? 'UID ' : ''}${name}` });
    if (!spec.states.includes(this.state.kind)) return this.reply(cmd.tag, { status: 'BAD', text: stateText(this.state.kind, spec) });
    const ctx: CommandContext = { tag: cmd.tag, name: uid ? `UID ${name}` : name, uid, args: new Args(rawArgs), session: this };
    await this.finish(cmd.tag, spec, () => spec.handle(ctx), uid);
  }

  /** Runs a handler (or its continuation) and sends the updates and the tagged reply. */
  private async finish(tag: string, spec: CommandSpec, run: () => Promise<HandlerResult> | HandlerResult, uid = false): Promise<void> {
    let result: HandlerResult;
    const started = process.hrtime.bigint();
    try {
      result = await run();
    } catch (err) {
      const reply = errorReply(err);
      if (reply.internal) this.logger?.error({ err, command: spec.name }, 'imap command failed');
      const { internal: _internal, ...tagged } = reply;
      result = tagged;
    }
    if (!('continuation' in result)) this.opts.metrics?.command(spec.name, result.status, Number(process.hrtime.bigint() - started) / 1e9);
    if ('continuation' in result) {
      this.pending = { tag, spec, cont: result };
      this.receiver.expectLine();
      this.send(`+ ${result.continuation}`);
      return;
    }
    if (this.closed) return this.reply(tag, result);
    this.sendUpdates(!spec.usesSeqs || uid);
    this.reply(tag, result);
  }

  /** Untagged EXISTS / EXPUNGE / FETCH for changes made elsewhere, before the tagged reply. */
  private sendUpdates(allowExpunge: boolean): void {
    if (this.state.kind !== 'selected') return;
    // With a change feed, the mailbox is looked at when it told of a change, and at least once
    // a second in case a notice was lost (Redis away): most commands skip the status query.
    const now = Date.now();
    if (this.opts.changes && !this.storeChanged && !this.state.selected.hasPendingExpunges && now - this.refreshedAt < 1000) return;
    this.storeChanged = false;
    this.refreshedAt = now;
    try {
      for (const line of this.state.selected.refresh(this.state.mailboxes, allowExpunge)) this.send(line);
    } catch (err) {
      // The mailbox went away under us (deleted or renamed by another session).
      this.logger?.debug({ err }, 'selected mailbox vanished');
      this.bye('Selected mailbox was deleted, have to disconnect');
    }
  }

  private reply(tag: string, t: Tagged): void {
    this.send(statusLine(tag, t.status, t.text, t.code));
    this.countBad(t.status === 'BAD');
  }

  private countBad(isBad: boolean): void {
    this.badInARow = isBad ? this.badInARow + 1 : 0;
    if (this.badInARow >= this.opts.maxBadCommands) this.bye('Too many invalid commands');
  }
}

function stateText(state: ImapState['kind'], spec: CommandSpec): string {
  if (state === 'not-authenticated') return `${spec.name} requires authentication`;
  if (spec.states.includes('selected') && !spec.states.includes('authenticated')) return 'No mailbox selected';
  if (spec.states.includes('not-authenticated')) return 'Already authenticated';
  return `${spec.name} not allowed now`;
}
