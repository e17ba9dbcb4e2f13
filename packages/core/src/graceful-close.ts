// Closing a protocol server without cutting anyone off mid-command: stop accepting, ask every
// connection to finish (each protocol says goodbye its own way: BYE, 421, -ERR), and destroy
// whatever is still open when the grace period ends. Shared by the LMTP, IMAP and POP3 servers.
import type { Server, Socket } from 'node:net';

export function closeGracefully<C>(server: Server, connections: Map<Socket, C>, graceMs: number, shutdown: (c: C) => void, pollMs = 20): Promise<void> {
  return new Promise((resolve) => {
    server.close();
    for (const c of connections.values()) shutdown(c);
    const done = (): void => {
      clearInterval(poll);
      clearTimeout(timer);
      resolve();
    };
    const poll = setInterval(() => {
      if (connections.size === 0) done();
    }, pollMs);
    const timer = setTimeout(() => {
      for (const s of connections.keys()) s.destroy();
      done();
    }, graceMs);
    if (connections.size === 0) done();
  });
}
