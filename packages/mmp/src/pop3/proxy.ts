// The MMP's POP3 proxy: it answers the AUTHORIZATION state itself (CAPA, STLS, USER/PASS,
// AUTH PLAIN, QUIT), checks the password with the login policy, finds the user's store, logs
// in there with AUTH PLAIN as the proxy admin on the user's behalf, answers the client's login
// with the store's +OK, and splices. A store that does not answer gives -ERR [SYS/TEMP].
import { connect, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Config, Directory, LoginPolicy, Logger } from '@tiermail/core';
import type { LoginFailures } from '../limits.js';
import { qualifyUser, storeAddress } from '../routing.js';

export interface Pop3ProxyContext {
  config: Config;
  directory: Pick<Directory, 'findLoginUser'>;
  login: LoginPolicy;
  failures: LoginFailures;
  tls?: SecureContext;
  hostname: string;
  logger?: Logger;
}

/** Logs in to the store's POP3 as the proxy admin for the user; the socket, ready to splice. */
async function storeLogin(host: string, port: number, user: string, admin: string, password: string, timeoutMs: number): Promise<{ socket: Socket; reply: string }> {
  const socket = connect({ host, port });
  let buf = '';
  const next = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const i = buf.indexOf('\r\n');
        if (i < 0) return false;
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        cleanup();
        resolve(line);
        return true;
      };
      const onData = (d: Buffer): void => {
        buf += d.toString('latin1');
        check();
      };
      const onEnd = (): void => {
        cleanup();
        reject(new Error('store closed the connection'));
      };
      const cleanup = (): void => {
        socket.off('data', onData);
        socket.off('close', onEnd);
        socket.off('error', onEnd);
      };
      if (check()) return;
      socket.on('data', onData);
      socket.once('close', onEnd);
      socket.once('error', onEnd);
    });
  const timer = setTimeout(() => socket.destroy(new Error('store did not answer in time')), timeoutMs);
  try {
    if (!(await next()).startsWith('+OK')) throw new Error('store greeting was not +OK');
    socket.write(`AUTH PLAIN ${Buffer.from(`${user}\0${admin}\0${password}`).toString('base64')}\r\n`);
    const reply = await next();
    if (!reply.startsWith('+OK')) throw new Error(`store refused the proxy login: ${reply}`);
    clearTimeout(timer);
    return { socket, reply };
  } catch (err) {
    clearTimeout(timer);
    socket.destroy();
    throw err;
  }
}

export class Pop3ProxyConnection {
  private socket: Socket;
  private secure: boolean;
  private buf = '';
  private user: string | null = null;
  private busy = false;
  private done = false;
  private failures = 0;
  private awaitingSasl = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    raw: Socket,
    private readonly ctx: Pop3ProxyContext,
    implicitTls: boolean,
  ) {
    this.socket = raw;
    this.secure = implicitTls;
    this.timer = setTimeout(() => this.close('-ERR Autologout; log in sooner'), ctx.config.mmp.preAuthTimeoutMs);
    raw.on('error', () => undefined);
    raw.on('close', () => clearTimeout(this.timer));
    this.listen(raw);
    raw.write(`+OK ${ctx.hostname} POP3 proxy ready\r\n`);
  }

  private plaintextAllowed(): boolean {
    return this.ctx.login.plaintextAllowed(this.socket.remoteAddress ?? '', this.secure);
  }

  private listen(socket: Socket): void {
    socket.on('data', (d: Buffer) => {
      if (this.done) return;
      this.buf += d.toString('latin1');
      if (this.buf.length > 1024 && !this.buf.includes('\n')) return this.close('-ERR Line too long');
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (let i = this.buf.indexOf('\n'); i >= 0 && !this.done; i = this.buf.indexOf('\n')) {
        const line = this.buf.slice(0, i).replace(/\r$/, '');
        this.buf = this.buf.slice(i + 1);
        await this.command(line);
      }
    } finally {
      this.busy = false;
    }
  }

  private async command(line: string): Promise<void> {
    if (this.awaitingSasl) {
      this.awaitingSasl = false;
      return this.plain(line);
    }
    const m = /^([A-Za-z]{3,4})(?: (.*))?$/.exec(line);
    const verb = m?.[1]?.toUpperCase() ?? '';
    const arg = m?.[2] ?? '';
    switch (verb) {
      case 'CAPA': {
        const caps = ['USER', 'SASL PLAIN', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'TOP', 'UIDL'].filter((c) => this.plaintextAllowed() || !['USER', 'SASL PLAIN'].includes(c));
        if (this.ctx.tls && !this.secure) caps.push('STLS');
        return void this.socket.write(`+OK Capability list follows\r\n${caps.join('\r\n')}\r\n.\r\n`);
      }
      case 'QUIT':
        return this.close('+OK Bye');
      case 'STLS':
        return this.startTls();
      case 'USER':
        if (!this.plaintextAllowed()) return void this.socket.write('-ERR [AUTH] Log in after STLS\r\n');
        this.user = arg;
        return void this.socket.write('+OK Send PASS\r\n');
      case 'PASS':
        if (this.user === null) return void this.socket.write('-ERR USER first\r\n');
        return this.login(this.user, '', arg);
      case 'AUTH': {
        const [mech, ir] = arg.split(' ');
        if ((mech ?? '').toUpperCase() !== 'PLAIN') return void this.socket.write('-ERR Unsupported mechanism\r\n');
        if (!this.plaintextAllowed()) return void this.socket.write('-ERR [AUTH] Authenticate after STLS\r\n');
        if (ir === undefined) {
          this.awaitingSasl = true;
          return void this.socket.write('+ \r\n');
        }
        return this.plain(ir);
      }
      default:
        return void this.socket.write(m ? `-ERR ${verb} not allowed before login\r\n` : '-ERR Syntax error\r\n');
    }
  }

  private async plain(b64: string): Promise<void> {
    if (b64 === '*') return void this.socket.write('-ERR Authentication cancelled\r\n');
    const parts = Buffer.from(b64, 'base64').toString('utf8').split('\0');
    if (parts.length !== 3) return void this.socket.write('-ERR Invalid PLAIN response\r\n');
    return this.login(parts[1]!, parts[0]!, parts[2]!);
  }

  private async startTls(): Promise<void> {
    if (!this.ctx.tls || this.secure) return void this.socket.write('-ERR STLS not available\r\n');
    this.socket.write('+OK Begin TLS negotiation\r\n');
    const raw = this.socket;
    raw.removeAllListeners('data');
    this.buf = '';
    const secure = new TLSSocket(raw, { isServer: true, secureContext: this.ctx.tls });
    secure.on('error', () => undefined);
    await new Promise<void>((resolve) => secure.once('secure', () => resolve()));
    this.socket = secure;
    this.secure = true;
    this.listen(secure);
  }

  private async login(given: string, authzid: string, password: string): Promise<void> {
    this.user = null;
    const authcid = qualifyUser(this.ctx.config, given, this.socket.localAddress);
    const remote = this.socket.remoteAddress ?? '';
    let result;
    try {
      result = await this.ctx.login.verify({ service: 'pop3', authcid, authzid, password, remoteAddress: remote, secure: this.secure });
    } catch {
      return void this.socket.write('-ERR [SYS/TEMP] Authentication temporarily unavailable\r\n');
    }
    if (!result.ok) {
      this.failures++;
      this.ctx.logger?.info({ user: authcid, remote, reason: result.reason }, 'mmp pop3 login failed');
      await delay(this.ctx.failures.record(remote, authcid));
      this.socket.write(`-ERR [${result.code === 'CONTACTADMIN' ? 'SYS/PERM' : 'AUTH'}] ${result.text}\r\n`);
      if (this.failures >= 3) this.close('-ERR Too many failed logins');
      return;
    }
    const entry = await this.ctx.directory.findLoginUser(result.user).catch(() => null);
    const address = entry?.mailHost ? storeAddress(this.ctx.config, entry.mailHost, 'pop3') : null;
    if (!address) return void this.socket.write('-ERR [SYS/TEMP] Your mailbox is not available right now\r\n');
    const admin = this.ctx.config.mmp.proxyAdmin;
    let store;
    try {
      store = await storeLogin(address.host, address.port, result.user, admin.user, admin.password, this.ctx.config.mmp.connectTimeoutMs);
    } catch (err) {
      this.ctx.logger?.warn({ user: result.user, err: (err as Error).message }, 'mmp pop3: store unavailable');
      return void this.socket.write('-ERR [SYS/TEMP] Your mailbox is not available right now, try again later\r\n');
    }
    this.done = true;
    clearTimeout(this.timer);
    const client = this.socket;
    client.removeAllListeners('data');
    client.write(`${store.reply}\r\n`);
    if (this.buf.length > 0) store.socket.write(this.buf);
    client.pipe(store.socket);
    store.socket.pipe(client);
    const close = (): void => {
      client.destroy();
      store.socket.destroy();
    };
    client.once('close', close);
    store.socket.once('close', close);
    store.socket.on('error', () => undefined);
  }

  private close(text: string): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.socket.end(`${text}\r\n`);
  }
}
