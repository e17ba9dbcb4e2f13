// Probes by protocol: connect, read the greeting, check it is the right one (SMTP and LMTP
// "220", IMAP "* OK", POP3 "+OK"). A probe succeeds or fails within its timeout; it never
// hangs, so a stopped (SIGSTOPped) service is told from a slow one by the clock.
import { connect } from 'node:net';

export type ProbeKind = 'smtp' | 'lmtp' | 'imap' | 'pop3';

export interface ProbeTarget {
  kind: ProbeKind;
  host: string;
  port: number;
}

export interface ProbeResult {
  ok: boolean;
  ms: number;
  at: string;
  error?: string;
}

const EXPECT: Record<ProbeKind, string> = { smtp: '220', lmtp: '220', imap: '* OK', pop3: '+OK' };
const BYE: Record<ProbeKind, string> = { smtp: 'QUIT\r\n', lmtp: 'QUIT\r\n', imap: 'p LOGOUT\r\n', pop3: 'QUIT\r\n' };

export function probe(t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const s = connect({ host: t.host, port: t.port });
    let buf = '';
    let settled = false;
    const done = (ok: boolean, error?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (ok) s.end(BYE[t.kind]);
      else s.destroy();
      resolve({ ok, ms: Date.now() - started, at: new Date().toISOString(), ...(error ? { error } : {}) });
    };
    const timer = setTimeout(() => done(false, `no greeting in ${timeoutMs} ms`), timeoutMs);
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      buf += d;
      const i = buf.indexOf('\r\n');
      if (i < 0) return;
      const line = buf.slice(0, i);
      done(line.startsWith(EXPECT[t.kind]), line.startsWith(EXPECT[t.kind]) ? undefined : `unexpected greeting: ${line.slice(0, 100)}`);
    });
    s.on('error', (err) => done(false, err.message));
    s.on('close', () => done(false, 'connection closed before a greeting'));
  });
}
