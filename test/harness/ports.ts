// Free TCP ports for servers started by tests. A port is picked at random below the kernel's
// ephemeral range (so no outgoing connection of any test holds it, and two test files running
// at once rarely pick the same one), checked by binding it, and remembered so this process
// never hands it out twice. The short race until the server binds it is accepted in tests.
import net from 'node:net';

const LOW = 20000;
const HIGH = 32000;
const given = new Set<number>();

function tryBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (given.has(port)) continue;
    if (await tryBind(port, host)) {
      given.add(port);
      return port;
    }
  }
  throw new Error(`no free port found between ${LOW} and ${HIGH}`);
}
