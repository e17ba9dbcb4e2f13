// Shared set-up for the IMAP tests: a real slapd with the demo users, the directory client as
// the authenticator, a store in a temporary directory, the IMAP server on a free port, and a
// raw client for tests that need every response line exactly.
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { directorySchema, type DirectoryConfig, type StoreConfig } from '@tiermail/core/config/schema';
import { Directory } from '@tiermail/core/directory/index';
import { MessageStore } from '@tiermail/store';
import { StoreChanges } from '@tiermail/store/changes';
import { DirectoryLogin, type DirectoryLoginOptions } from '@tiermail/store/access/login';
import { startImapServer, type ImapServer, type ImapServerOptions } from '@tiermail/store/imap/index';
import { startSlapd, type SlapdHandle } from '../harness/slapd.js';
import { storeConfig, tempRoot } from './engine-helpers.js';

export interface ImapFixture {
  slapd: SlapdHandle;
  directoryConfig: DirectoryConfig;
  directory: Directory;
  store: MessageStore;
  storeCfg: StoreConfig;
  server: ImapServer;
  login: DirectoryLogin;
  port: number;
  stop(): Promise<void>;
}

export async function startImapFixture(opts: Partial<ImapServerOptions> = {}, loginOpts: Partial<DirectoryLoginOptions> = {}): Promise<ImapFixture> {
  const slapd = await startSlapd({ demo: true });
  const directoryConfig = directorySchema.parse({
    urls: [slapd.url],
    baseDn: slapd.suffix,
    bindDn: slapd.adminDn,
    bindPassword: slapd.adminPassword,
    defaultDomain: 'example.test',
  });
  const directory = new Directory(directoryConfig);
  // Deliveries and other sessions' changes reach IDLE sessions through the change feed, as in
  // the store service (there with Redis between processes).
  const changes = opts.changes ?? new StoreChanges('tmtest:');
  const storeCfg = storeConfig(tempRoot('tm-imap-'));
  const store = MessageStore.open(storeCfg, { onChange: (u) => changes.notify(u) });
  // Proxy logins (the MMP's) are trusted from 127.0.0.1 only, so 127.0.0.2 can play an untrusted host.
  const login = new DirectoryLogin(directory, { plaintextAuth: 'loopback', proxyAdmins: ['mmp-proxy'], proxyTrustedNetworks: ['127.0.0.1/32'], ...loginOpts });
  const server = await startImapServer(store, {
    host: '127.0.0.1',
    port: 0,
    authFailureDelayMs: 20,
    login,
    changes,
    ...opts,
  });
  return {
    slapd,
    directoryConfig,
    directory,
    store,
    storeCfg,
    server,
    login,
    port: server.port,
    async stop() {
      await server.close(2000);
      store.close();
      await directory.close();
      await slapd.stop();
    },
  };
}

export function rfc822(subject: string, body = 'Hello there.\r\n', extra = ''): Buffer {
  return Buffer.from(
    `From: Carol <carol@example.org>\r\nTo: alice@example.test\r\nSubject: ${subject}\r\nDate: Tue, 14 Jan 2025 10:00:00 +0100\r\n` +
      `Message-ID: <${subject.replace(/\W/g, '')}@example.org>\r\n${extra}\r\n${body}`,
  );
}

export async function deliver(store: MessageStore, user: string, msg: Buffer, folder?: string): Promise<number> {
  const [outcome] = await store.deliver({ data: msg }, [{ user, ...(folder ? { folder } : {}) }]);
  if (outcome?.status !== 'stored') throw new Error(`delivery failed: ${JSON.stringify(outcome)}`);
  return outcome.uid;
}

/** A raw IMAP client: send bytes, read lines; tagged() collects everything up to a tag's reply. */
export class RawImap {
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  ended = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('close', () => {
      this.ended = true;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => undefined);
  }

  /** After STARTTLS's OK: the TLS handshake on the same socket, then a client over it. */
  async startTls(): Promise<RawImap> {
    const secure = tlsConnect({ socket: this.socket, rejectUnauthorized: false, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    return new RawImap(secure);
  }

  /** localAddress: connect from another loopback address (127.0.0.2 plays an untrusted host). */
  static async open(port: number, localAddress?: string): Promise<{ client: RawImap; greeting: string }> {
    const socket = connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new RawImap(socket);
    return { client, greeting: await client.line() };
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  private async wait(timeoutMs: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timeout; have ${JSON.stringify(this.buf.toString('latin1').slice(0, 500))}`)), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  async line(timeoutMs = 10000): Promise<string> {
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i >= 0) {
        const line = this.buf.toString('latin1', 0, i);
        this.buf = this.buf.subarray(i + 2);
        return line;
      }
      if (this.ended) return '<closed>';
      await this.wait(timeoutMs);
    }
  }

  /** Lines up to and including the tagged reply (literals stay inline in their line's text). */
  async tagged(tag: string, timeoutMs = 10000): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      let l = await this.line(timeoutMs);
      // A line ending in {n} goes on after n bytes of literal, possibly with more literals.
      for (let lit = /\{(\d+)\}$/.exec(l); lit; lit = /\{(\d+)\}$/.exec(l)) {
        const n = Number(lit[1]);
        while (this.buf.length < n && !this.ended) await this.wait(timeoutMs);
        l += '\r\n' + this.buf.toString('latin1', 0, n);
        this.buf = this.buf.subarray(n);
        l += await this.line(timeoutMs);
      }
      out.push(l);
      if (l === '<closed>' || l.startsWith(`${tag} `)) return out;
    }
  }

  async command(tag: string, text: string): Promise<string[]> {
    this.write(`${tag} ${text}\r\n`);
    return this.tagged(tag);
  }

  async closed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.ended;
  }

  close(): void {
    this.socket.destroy();
  }
}
