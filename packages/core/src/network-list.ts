// Trusted client networks (relay.trustedNetworks, proxy addresses) as a matcher: exact addresses and CIDR networks, IPv4 and IPv6, with
// IPv4-mapped IPv6 client addresses (::ffff:10.1.2.3) matched as the IPv4 address they are.
import { BlockList, isIPv4, isIPv6 } from 'node:net';

export class NetworkList {
  private readonly list = new BlockList();

  constructor(rules: readonly string[]) {
    for (const rule of rules) {
      const [addr = '', bits] = rule.split('/');
      const type = isIPv4(addr) ? 'ipv4' : isIPv6(addr) ? 'ipv6' : null;
      if (!type) throw new Error(`${rule} is not an IP address or network`);
      if (bits === undefined) this.list.addAddress(addr, type);
      else this.list.addSubnet(addr, Number(bits), type);
    }
  }

  has(address: string): boolean {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    const a = mapped ?? address;
    if (isIPv4(a)) return this.list.check(a, 'ipv4');
    if (isIPv6(a)) return this.list.check(a, 'ipv6');
    return false;
  }
}
