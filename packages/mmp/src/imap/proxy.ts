// One client connection to the MMP's IMAP listener: the pre-auth conversation (preauth.ts),
// the password checked against the directory with the same login policy as the stores, the
// user's store found from mailHost, the proxy login there (backend.ts), then the two sockets
// spliced: from here on bytes go both ways untouched, with backpressure (pipe), and when one
// side closes so does the other.
import { setTimeout as delay } from 'node:timers/promises';
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Config, Directory, LoginPolicy, Logger } from '@tiermail/core';
import type { LoginFailures } from '../limits.js';
import { qualifyUser, storeImapAddress } from '../routing.js';
import { BackendError, loginToStore } from './backend.js';
import { PreAuth, type PreAuthAction } from './preauth.js';

export interface ProxyContext {
  config: Config;
  directory: Pick<Directory, 'findLoginUser'>;
  login: LoginPolicy;
  failures: LoginFailures;
  tls?: SecureContext;
  hostname: string;
  logger?: Logger;
}

export class ProxyConnection {
  private socket: Socket;
  private secure = false;
  private readonly pre: PreAuth;
  private busy = false;
  private done = false;
  private failures = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    raw: Socket,
    private readonly ctx: ProxyContext,
    implicitTls: boolean,
  ) {
    this.socket = raw;
    this.secure = implicitTls;
    this.pre = new PreAuth(() => this.capabilities(), ctx.hostname);
    this.timer = setTimeout(() => this.finish('* BYE Autologout; log in sooner\r\n'), ctx.config.mmp.preAuthTimeoutMs);
    raw.on('error', () => undefined);
    raw.on('close', () => clearTimeout(this.timer));
    this.listen(raw);
    raw.write(this.pre.greeting());
  }

  private capabilities(): string[] {
    const caps = ['IMAP4rev1', 'LITERAL+', 'SASL-IR', 'ID'];
    if (this.ctx.tls && !this.secure) caps.push('STARTTLS');
    caps.push(this.plaintextAllowed() ? 'AUTH=PLAIN' : 'LOGINDISABLED');
    return caps;
  }

  private plaintextAllowed(): boolean {
    return this.ctx.login.plaintextAllowed(this.socket.remoteAddress ?? '', this.secure);
  }

  private listen(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      if (this.done) return;
      void this.handle(this.pre.push(chunk));
    });
  }

  private async handle(actions: PreAuthAction[]): Promise<void> {
    for (const a of actions) {
      if (a.kind === 'send') this.socket.write(a.text);
      else if (a.kind === 'close') return this.finish('');
      else if (a.kind === 'starttls') await this.startTls(a.tag);
      else await this.login(a.tag, a.user, a.password, a.authzid);
    }
  }

  private async startTls(tag: string): Promise<void> {
    if (!this.ctx.tls || this.secure) {
      this.socket.write(`${tag} BAD STARTTLS is not available\r\n`);
      return;
    }
    this.socket.write(`${tag} OK Begin TLS negotiation now\r\n`);
    const raw = this.socket;
    raw.removeAllListeners('data');
    const secure = new TLSSocket(raw, { isServer: true, secureContext: this.ctx.tls });
    secure.on('error', () => undefined);
    await new Promise<void>((resolve) => secure.once('secure', () => resolve()));
    this.socket = secure;
    this.secure = true;
    this.listen(secure);
  }

  private async login(tag: string, given: string, password: string, authzid: string): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    const user = qualifyUser(this.ctx.config, given, this.socket.localAddress);
    const remote = this.socket.remoteAddress ?? '';
    try {
      if (!this.plaintextAllowed()) {
        this.socket.write(`${tag} NO [PRIVACYREQUIRED] Log in after STARTTLS\r\n`);
        return;
      }
      let result;
      try {
        result = await this.ctx.login.verify({ service: 'imap', authcid: user, authzid, password, remoteAddress: remote, secure: this.secure });
      } catch {
        this.socket.write(`${tag} NO [UNAVAILABLE] Temporary authentication failure\r\n`);
        return;
      }
      if (!result.ok) {
        this.failures++;
        this.ctx.logger?.info({ user, remote, reason: result.reason }, 'mmp login failed');
        // The wait grows with recent failures from this address or for this user.
        await delay(this.ctx.failures.record(remote, user));
        this.socket.write(`${tag} NO [${result.code}] ${result.text}\r\n`);
        if (this.failures >= 3) this.finish('* BYE Too many failed logins\r\n');
        return;
      }
      const entry = await this.ctx.directory.findLoginUser(result.user).catch(() => null);
      const address = entry?.mailHost ? storeImapAddress(this.ctx.config, entry.mailHost) : null;
      if (!address) {
        this.ctx.logger?.error({ user: result.user, mailHost: entry?.mailHost }, 'mmp: no store for this user');
        this.socket.write(`${tag} NO [UNAVAILABLE] Your mailbox is not available right now\r\n`);
        return;
      }
      const admin = this.ctx.config.mmp.proxyAdmin;
      let backend;
      try {
        backend = await loginToStore({ ...address, user: result.user, admin: admin.user, adminPassword: admin.password, timeoutMs: this.ctx.config.mmp.connectTimeoutMs });
      } catch (err) {
        this.ctx.logger?.warn({ user: result.user, store: `${address.host}:${address.port}`, err: (err as BackendError).message }, 'mmp: store unavailable');
        this.socket.write(`${tag} NO [UNAVAILABLE] Your mailbox is not available right now, try again later\r\n`);
        return;
      }
      this.ctx.logger?.info({ user: result.user, remote, store: `${address.host}:${address.port}` }, 'mmp login');
      this.splice(tag, backend.socket, backend.capabilities);
    } finally {
      this.busy = false;
    }
  }

  private splice(tag: string, store: Socket, capabilities: string): void {
    this.done = true;
    clearTimeout(this.timer);
    const client = this.socket;
    client.removeAllListeners('data');
    client.write(`${tag} OK [CAPABILITY ${capabilities}] Logged in\r\n`);
    const rest = this.pre.rest();
    if (rest.length > 0) store.write(rest);
    client.pipe(store);
    store.pipe(client);
    const close = (): void => {
      client.destroy();
      store.destroy();
    };
    client.once('close', close);
    store.once('close', close);
    store.on('error', () => undefined);
  }

  private finish(text: string): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    if (text) this.socket.end(text);
    else this.socket.end();
  }
}
