// A small authoritative DNS server on a loopback UDP port, answering MX, A and AAAA from a zone
// the test gives (and changes): the relay's remote delivery is tested against real DNS
// packets through node:dns, without the internet. Names not in the zone get NXDOMAIN; a known
// name without the asked type gets an empty NOERROR answer (NODATA). A name can be made to
// answer SERVFAIL, or not at all (a dead server).
import { createSocket, type Socket } from 'node:dgram';

export interface ZoneEntry {
  mx?: Array<[preference: number, exchange: string]>;
  a?: string[];
  aaaa?: string[];
  /** Answer SERVFAIL for this name. */
  servfail?: boolean;
  /** Do not answer at all (the resolver times out). */
  silent?: boolean;
}

export interface DnsHandle {
  port: number;
  /** "127.0.0.1:port", for relay.dns.servers. */
  server: string;
  zone: Map<string, ZoneEntry>;
  queries: Array<{ name: string; type: number }>;
  stop(): Promise<void>;
}

const TYPE = { A: 1, MX: 15, AAAA: 28 } as const;

function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean);
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])]);
}

function readName(msg: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let i = offset;
  while (msg[i]! !== 0) {
    const len = msg[i]!;
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('ascii'));
    i += 1 + len;
  }
  return { name: labels.join('.').toLowerCase(), end: i + 1 };
}

function rr(type: number, rdata: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0xc00c, 0); // the question's name
  head.writeUInt16BE(type, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt32BE(60, 6);
  head.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([head, rdata]);
}

function ipv6(addr: string): Buffer {
  const [head = '', tail = ''] = addr.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = addr.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

export function answer(query: Buffer, zone: Map<string, ZoneEntry>): Buffer | null {
  const { name, end } = readName(query, 12);
  const type = query.readUInt16BE(end);
  const entry = zone.get(name);
  if (entry?.silent) return null;
  let rcode = 0;
  const answers: Buffer[] = [];
  if (!entry) rcode = 3;
  else if (entry.servfail) rcode = 2;
  else if (type === TYPE.MX) {
    for (const [pref, exchange] of entry.mx ?? []) {
      const p = Buffer.alloc(2);
      p.writeUInt16BE(pref);
      answers.push(rr(TYPE.MX, Buffer.concat([p, encodeName(exchange)])));
    }
  } else if (type === TYPE.A) {
    for (const a of entry.a ?? []) answers.push(rr(TYPE.A, Buffer.from(a.split('.').map(Number))));
  } else if (type === TYPE.AAAA) {
    for (const a of entry.aaaa ?? []) answers.push(rr(TYPE.AAAA, ipv6(a)));
  }
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  header.writeUInt16BE(0x8000 | 0x0400 | (query.readUInt16BE(2) & 0x0100) | 0x0080 | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  return Buffer.concat([header, query.subarray(12, end + 4), ...answers]);
}

export async function startDns(zone: Record<string, ZoneEntry> = {}): Promise<DnsHandle> {
  const socket: Socket = createSocket('udp4');
  const map = new Map(Object.entries(zone).map(([k, v]) => [k.toLowerCase(), v]));
  const queries: DnsHandle['queries'] = [];
  socket.on('message', (msg, rinfo) => {
    try {
      const { name, end } = readName(msg, 12);
      queries.push({ name, type: msg.readUInt16BE(end) });
      const reply = answer(msg, map);
      if (reply) socket.send(reply, rinfo.port, rinfo.address);
    } catch {
      // a malformed query gets no answer
    }
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = socket.address().port;
  return {
    port,
    server: `127.0.0.1:${port}`,
    zone: map,
    queries,
    stop: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
