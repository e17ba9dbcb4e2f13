// The MMP worker's Prometheus metrics, in prom-client's global registry so the cluster primary
// sums them over the workers (/metrics on metrics.services.mmp): open connections per
// listener and login results (counted by wrapping the login policy).
import { Counter, Gauge, workerMetrics, type LoginPolicy, type LoginRequest, type LoginResult } from '@tiermail/core';

let loginCounter: Counter | undefined;

export function mmpMetrics(host: string, connections: () => Array<{ listener: string; open: number }>): void {
  const registers = [workerMetrics({ service: 'mmp', host })];
  new Gauge({
    name: 'tiermail_mmp_connections',
    help: 'open client connections by listener',
    labelNames: ['listener'],
    registers,
    collect() {
      this.reset();
      for (const c of connections()) this.inc({ listener: c.listener }, c.open);
    },
  });
  loginCounter = new Counter({ name: 'tiermail_mmp_logins_total', help: 'logins by service and result (ok, or the refusal code)', labelNames: ['service', 'result'], registers });
}

/** The login policy, with every verdict counted. */
export function countedLogin(policy: LoginPolicy): LoginPolicy {
  return {
    plaintextAllowed: (remote, secure) => policy.plaintextAllowed(remote, secure),
    async verify(req: LoginRequest): Promise<LoginResult> {
      try {
        const r = await policy.verify(req);
        loginCounter?.inc({ service: req.service, result: r.ok ? 'ok' : r.code.toLowerCase() });
        return r;
      } catch (err) {
        loginCounter?.inc({ service: req.service, result: 'unavailable' });
        throw err;
      }
    },
  };
}
