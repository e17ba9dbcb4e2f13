// Network helpers the benchmarks share: a free loopback port, and waiting for a 220 greeting.
import { connect, createServer } from 'node:net';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Waits until something on port sends a 220 greeting (then says QUIT). */
export async function waitGreeting(port, child, what, timeoutMs = 30000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}):\n${child.output()}`);
    const line = await new Promise((resolve) => {
      const s = connect({ port, host: '127.0.0.1' });
      let buf = '';
      s.setEncoding('latin1');
      s.on('data', (d) => {
        buf += d;
        if (buf.includes('\r\n')) {
          s.end('QUIT\r\n');
          resolve(buf.slice(0, buf.indexOf('\r\n')));
        }
      });
      s.on('error', () => resolve(''));
      s.setTimeout(2000, () => {
        s.destroy();
        resolve('');
      });
    });
    if (line.startsWith('220')) return;
    if (Date.now() > until) throw new Error(`${what} did not greet on port ${port}:\n${child.output()}`);
    await sleep(100);
  }
}

