// The MMP's side of a store connection: connect, read the greeting, log in on the user's
// behalf (SASL PLAIN, authzid = the user, authcid = the proxy admin: the store accepts that
// only from the MMPs' addresses), and ask for the capabilities the user will see. Everything
// has one deadline; past it, or on any error, the caller answers NO [UNAVAILABLE].
import { connect, type Socket } from 'node:net';

export interface BackendLogin {
  host: string;
  port: number;
  user: string;
  admin: string;
  adminPassword: string;
  timeoutMs: number;
}

export class BackendError extends Error {}

/** Reads CRLF lines from a socket until one satisfies `done`; returns all lines read. */
function readUntil(socket: Socket, done: (line: string) => boolean, state: { buf: string }): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    const onData = (d: Buffer): void => {
      state.buf += d.toString('latin1');
      let i: number;
      while ((i = state.buf.indexOf('\r\n')) >= 0) {
        const line = state.buf.slice(0, i);
        state.buf = state.buf.slice(i + 2);
        lines.push(line);
        if (done(line)) {
          cleanup();
          resolve(lines);
          return;
        }
      }
    };
    const onEnd = (): void => {
      cleanup();
      reject(new BackendError('store closed the connection'));
    };
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('close', onEnd);
      socket.off('error', onEnd);
    };
    socket.on('data', onData);
    socket.once('close', onEnd);
    socket.once('error', onEnd);
  });
}

/** A logged-in store connection and the capabilities to show the client. */
export async function loginToStore(o: BackendLogin): Promise<{ socket: Socket; capabilities: string }> {
  const socket = connect({ host: o.host, port: o.port });
  socket.setNoDelay(true);
  const timer = setTimeout(() => socket.destroy(new BackendError(`store ${o.host}:${o.port} did not answer in ${o.timeoutMs} ms`)), o.timeoutMs);
  try {
    const state = { buf: '' };
    const greeting = await readUntil(socket, () => true, state);
    if (!greeting[0]?.startsWith('* OK')) throw new BackendError(`store greeting: ${greeting[0] ?? ''}`);
    const ir = Buffer.from(`${o.user}\0${o.admin}\0${o.adminPassword}`).toString('base64');
    socket.write(`P1 AUTHENTICATE PLAIN ${ir}\r\n`);
    const login = await readUntil(socket, (l) => l.startsWith('P1 '), state);
    const tagged = login.at(-1)!;
    if (!tagged.startsWith('P1 OK')) throw new BackendError(`store refused the proxy login: ${tagged.slice(3)}`);
    socket.write('P2 CAPABILITY\r\n');
    const caps = await readUntil(socket, (l) => l.startsWith('P2 '), state);
    const line = caps.find((l) => l.startsWith('* CAPABILITY '));
    if (state.buf.length > 0) throw new BackendError('store sent more than asked');
    clearTimeout(timer);
    return { socket, capabilities: line ? line.slice('* CAPABILITY '.length) : 'IMAP4rev1' };
  } catch (err) {
    clearTimeout(timer);
    socket.destroy();
    throw err instanceof BackendError ? err : new BackendError((err as Error).message);
  }
}
