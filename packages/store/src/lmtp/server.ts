// Thin socket code around LmtpSession: reads lines with a length limit, streams DATA through
// the dot decoder (in memory up to MEMORY_SPOOL_BYTES, then into a temp file on the store's
// partition), then asks the engine to deliver and writes one reply per recipient. Commands are handled strictly in order, so pipelined
// clients see replies in the order they sent commands.
import { createServer, type Server, type Socket } from 'node:net';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { closeGracefully, DotDataDecoder, LineReader, type Logger, type MailLog } from '@tiermail/core';
import type { DeliveryOutcome, DeliveryRecipient } from '../engine/index.js';
import { LmtpSession, type Envelope, type SessionOptions } from './session.js';
import { malformedReply, outcomeReply, tooLargeReply } from './replies.js';

export interface DeliveryTarget {
  tempPathFor(user?: string): string;
  deliver(body: { path: string } | { data: Buffer }, recipients: DeliveryRecipient[], opts?: { internalDate?: Date }): Promise<DeliveryOutcome[]>;
}

export interface LmtpServerOptions extends SessionOptions {
  host: string;
  port: number;
  allowFrom: string[];
  idleTimeoutMs: number;
  maxLineLength: number;
  logger?: Logger;
  mailLog?: MailLog;
  /** Called for each recipient after the replies are sent (events, metrics). */
  onOutcome?: (env: Envelope, index: number, outcome: DeliveryOutcome | undefined, reply: string, size: number) => void;
}

/** Exact addresses, or prefixes ending in '.' or ':' (10.1. or fd00:). */
export function addressAllowed(address: string, allow: string[]): boolean {
  return allow.some((a) => (a.endsWith('.') || a.endsWith(':') ? address.startsWith(a) : address === a));
}

/**
 * A message up to this size stays in memory until it is delivered: the engine then writes it
 * once, straight into the store, and fsyncs it there (four file system calls instead of the
 * dozen a spool file costs). A larger one goes to a spool file as it arrives, so memory per
 * connection stays bounded whatever the message size.
 */
export const MEMORY_SPOOL_BYTES = 64 * 1024;

interface DataState {
  env: Envelope;
  decoder: DotDataDecoder;
  /** The message so far while it is small; empty once it has gone to a spool file. */
  chunks: Buffer[];
  file: FileHandle | undefined;
  path: string | undefined;
  written: number;
  tooBig: boolean;
}

class Connection {
  private readonly session: LmtpSession;
  private readonly reader: LineReader;
  private pending: Buffer[] = [];
  private busy = false;
  private closed = false;
  private draining = false;
  private data: DataState | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly target: DeliveryTarget,
    private readonly opts: LmtpServerOptions,
  ) {
    this.session = new LmtpSession(opts);
    this.reader = new LineReader(opts.maxLineLength);
    socket.setTimeout(opts.idleTimeoutMs, () => {
      this.write('421 4.4.2 Idle timeout, closing connection');
      this.close();
    });
    socket.on('data', (chunk: Buffer) => {
      this.pending.push(chunk);
      void this.pump();
    });
    socket.on('error', (err) => opts.logger?.debug({ err }, 'lmtp socket error'));
    socket.on('close', () => {
      this.closed = true;
      void this.abortData();
    });
    this.write(this.session.greeting());
  }

  /** Stop after the transaction in progress: nothing half-received is dropped by a shutdown. */
  drain(): void {
    this.draining = true;
    if (!this.busy && !this.data) this.shutdown();
  }

  private shutdown(): void {
    if (this.closed) return;
    this.write('421 4.3.2 Service shutting down, try again later');
    this.close();
  }

  private write(reply: string): void {
    if (!this.closed && this.socket.writable) this.socket.write(`${reply}\r\n`);
  }

  private close(): void {
    this.closed = true;
    this.socket.end();
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    // Stop reading while we work through what we have: bounded memory under a flood.
    this.socket.pause();
    try {
      while (!this.closed && this.pending.length > 0) {
        const chunk = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending);
        this.pending = [];
        if (this.data) await this.feedData(chunk);
        else await this.feedCommands(chunk);
      }
    } catch (err) {
      this.opts.logger?.error({ err }, 'lmtp connection failed');
      this.write('421 4.3.0 Internal error, closing connection');
      this.close();
    } finally {
      this.busy = false;
      if (this.draining && !this.data) this.shutdown();
      else if (!this.closed) this.socket.resume();
    }
  }

  private async feedCommands(chunk: Buffer): Promise<void> {
    this.reader.push(chunk);
    for (;;) {
      if (this.closed) return;
      const ev = this.reader.next();
      if (!ev) return;
      const result = ev.type === 'too-long' ? this.session.lineTooLong() : this.session.command(ev.line.toString('latin1'));
      this.write(result.reply);
      if (result.kind === 'close') {
        this.close();
        return;
      }
      if (result.kind === 'data') {
        this.startData(result.envelope);
        const rest = this.reader.takeRest();
        if (rest.length > 0) await this.feedData(rest);
        return;
      }
    }
  }

  private startData(env: Envelope): void {
    // The final delivery agent records the envelope sender (RFC 5321 4.4).
    const returnPath = Buffer.from(`Return-Path: <${env.from}>\r\n`, 'latin1');
    this.data = { env, decoder: new DotDataDecoder(), chunks: [returnPath], file: undefined, path: undefined, written: returnPath.length, tooBig: false };
  }

  /** The message outgrew memory: on to a spool file on the partition of the first recipient. */
  private async spill(d: DataState): Promise<void> {
    const path = this.target.tempPathFor(d.env.recipients[0]?.user);
    const file = await open(path, 'wx', 0o600);
    if (this.data !== d) {
      // The client went away meanwhile (abortData has run): nothing to keep.
      await file.close().catch(() => undefined);
      await unlink(path).catch(() => undefined);
      return;
    }
    d.path = path;
    d.file = file;
    await file.write(Buffer.concat(d.chunks));
    d.chunks = [];
  }

  private async feedData(chunk: Buffer): Promise<void> {
    const d = this.data;
    if (!d) return;
    const r = d.decoder.push(chunk);
    if (!d.tooBig) {
      for (const c of r.chunks) {
        if (d.written + c.length > this.opts.maxMessageSize) {
          // Keep reading to the end marker but stop storing: the answer is 552 per recipient.
          d.tooBig = true;
          d.chunks = [];
          break;
        }
        if (d.file) {
          await d.file.write(c);
        } else {
          // The decoder's chunk may be a view of the socket buffer: keep a copy.
          d.chunks.push(Buffer.from(c));
          if (d.written + c.length > MEMORY_SPOOL_BYTES) {
            await this.spill(d);
            if (this.data !== d) return; // aborted meanwhile
          }
        }
        d.written += c.length;
      }
    }
    if (!r.done) return;
    this.data = undefined;
    await d.file?.close();
    await this.finishData(d);
    this.session.endTransaction();
    if (r.rest.length > 0) await this.feedCommands(r.rest);
  }

  private async finishData(d: DataState): Promise<void> {
    const { env } = d;
    let outcomes: Array<DeliveryOutcome | undefined> = env.recipients.map(() => undefined);
    let replies: string[];
    try {
      if (d.tooBig) {
        replies = env.recipients.map((r) => tooLargeReply(r, this.opts.maxMessageSize));
      } else if (d.decoder.problem) {
        const problem = d.decoder.problem;
        replies = env.recipients.map((r) => malformedReply(r, problem));
      } else {
        const recipients: DeliveryRecipient[] = env.recipients.map((r) => ({
          user: r.user,
          ...(r.folder !== undefined ? { folder: r.folder } : {}),
          ...(r.quotaBytes !== undefined ? { quotaBytes: r.quotaBytes } : {}),
          ...(r.quotaMessages !== undefined ? { quotaMessages: r.quotaMessages } : {}),
          ...(r.deliveryId !== undefined ? { deliveryId: r.deliveryId } : {}),
        }));
        try {
          const body = d.path !== undefined ? { path: d.path } : { data: Buffer.concat(d.chunks) };
          d.chunks = [];
          outcomes = await this.target.deliver(body, recipients, { internalDate: new Date() });
        } catch (err) {
          this.opts.logger?.error({ err }, 'delivery failed');
          outcomes = env.recipients.map(() => ({ status: 'io-error', detail: err instanceof Error ? err.message : String(err) }));
        }
        replies = env.recipients.map((r, i) => outcomeReply(env, r, outcomes[i] ?? { status: 'io-error', detail: 'no outcome' }));
      }
    } finally {
      // The engine owns a spool file it was given; one never given (malformed, too big) is ours.
      if (d.path !== undefined) await unlink(d.path).catch(() => undefined);
    }
    for (const reply of replies) this.write(reply);
    replies.forEach((reply, i) => this.record(env, i, outcomes[i], reply, d.written));
  }

  private record(env: Envelope, i: number, outcome: DeliveryOutcome | undefined, reply: string, size: number): void {
    const r = env.recipients[i];
    if (!r) return;
    const code = reply.startsWith('2') ? 'S' : reply.startsWith('4') ? 'Q' : 'R';
    this.opts.mailLog?.write({
      source: 'lmtp',
      dest: 'store',
      code: `${code}L`,
      size,
      from: env.from,
      orcpt: r.address,
      to: r.folder ? `${r.user}+${r.folder}` : r.user,
      answer: reply,
      ...(r.deliveryId ? { queueId: r.deliveryId } : {}),
      ...(this.socket.remoteAddress ? { remote: this.socket.remoteAddress } : {}),
    });
    this.opts.onOutcome?.(env, i, outcome, reply, size);
  }

  /** The client went away mid-DATA: nothing was acknowledged, so drop the partial file. */
  private async abortData(): Promise<void> {
    const d = this.data;
    if (!d) return;
    this.data = undefined;
    d.chunks = [];
    await d.file?.close().catch(() => undefined);
    if (d.path !== undefined) await unlink(d.path).catch(() => undefined);
  }
}

export interface LmtpServer {
  server: Server;
  port: number;
  close(graceMs?: number): Promise<void>;
}

export async function startLmtpServer(target: DeliveryTarget, opts: LmtpServerOptions): Promise<LmtpServer> {
  const connections = new Map<Socket, Connection>();
  // No Nagle: replies to pipelined commands (one per RCPT) go out at once instead of waiting
  // for the client's delayed ACK (40 ms per transaction otherwise).
  const server = createServer({ noDelay: true }, (socket) => {
    const remote = socket.remoteAddress ?? '';
    if (!addressAllowed(remote, opts.allowFrom)) {
      opts.logger?.warn({ remote }, 'lmtp connection refused: address not in store.lmtpAllowFrom');
      socket.end(`554 5.7.1 LMTP is not offered to ${remote}\r\n`);
      return;
    }
    connections.set(socket, new Connection(socket, target, opts));
    socket.on('close', () => connections.delete(socket));
  });
  server.maxConnections = 10000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    // Graceful: stop accepting, let each transaction in progress finish, then close; sockets
    // still open after graceMs are destroyed (their mail was not acknowledged, the relay retries).
    close: (graceMs = 30000) => closeGracefully(server, connections, graceMs, (c) => c.drain(), 50),
  };
}
