// The listening side the IMAP and POP3 servers and the MMP share: plain TCP or implicit TLS, a limit of
// connections in all and per client address (refused with the protocol's own goodbye line),
// and the map of open connections the graceful close walks.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type SecureContextOptions } from 'node:tls';
import type { Logger } from './log/index.js';

export interface ListenerOptions {
  host: string;
  port: number;
  tls?: SecureContextOptions;
  implicitTls?: boolean;
  tlsOptions?: { requestCert?: boolean; rejectUnauthorized?: boolean };
  maxConnections?: number;
  /** 0 for no limit. @defaultValue 100 */
  maxConnectionsPerAddress?: number;
  /** Written to a connection refused for its address, e.g. "* BYE Too many connections\r\n". */
  tooManyReply: string;
  logger?: Logger;
  protocol: string;
}

export interface Listener<C> {
  server: Server;
  port: number;
  connections: Map<Socket, C>;
}

export async function listen<C>(opts: ListenerOptions, create: (socket: Socket) => C): Promise<Listener<C>> {
  const connections = new Map<Socket, C>();
  const perAddress = new Map<string, number>();
  const maxPerAddress = opts.maxConnectionsPerAddress ?? 100;
  const onConnection = (socket: Socket): void => {
    const remote = socket.remoteAddress ?? '';
    const count = (perAddress.get(remote) ?? 0) + 1;
    if (maxPerAddress > 0 && count > maxPerAddress) {
      opts.logger?.warn({ remote }, `${opts.protocol} connection refused: too many from this address`);
      socket.end(opts.tooManyReply);
      return;
    }
    perAddress.set(remote, count);
    socket.setNoDelay(true);
    connections.set(socket, create(socket));
    socket.on('close', () => {
      connections.delete(socket);
      const n = (perAddress.get(remote) ?? 1) - 1;
      if (n <= 0) perAddress.delete(remote);
      else perAddress.set(remote, n);
    });
  };
  let server: Server;
  if (opts.implicitTls) {
    if (!opts.tls) throw new Error(`implicit TLS for ${opts.protocol} needs a certificate (tls)`);
    server = createTlsServer({ ...opts.tls, ...(opts.tlsOptions ?? {}) }, onConnection);
    server.on('tlsClientError', (err) => opts.logger?.debug({ err: err.message }, `${opts.protocol} handshake failed`));
  } else {
    // No Nagle: small protocol replies go out at once (pipelined commands would otherwise wait
    // for the client's delayed ACK).
    server = createServer({ noDelay: true }, onConnection);
  }
  server.maxConnections = opts.maxConnections ?? 10000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port, connections };
}
