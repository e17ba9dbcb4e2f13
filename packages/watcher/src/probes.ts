// Probes by protocol, as the seeds' msprobe does: not just "the port is open" but one real
// exchange: SMTP banner and NOOP, LMTP LHLO, IMAP CAPABILITY, POP3 CAPA, Redis PING, and an
// LDAP bind with the directory's service account. A probe succeeds or fails within its
// timeout; it never hangs, so a stopped (SIGSTOPped) service is told from a slow one by the clock.
import { connect } from 'node:net';
import { Client } from 'ldapts';

export type ProbeKind = 'smtp' | 'lmtp' | 'imap' | 'pop3' | 'redis' | 'ldap';

export interface ProbeTarget {
  kind: ProbeKind;
  host: string;
  port: number;
  /** ldap: bind DN and password (anonymous when absent); redis: AUTH password. */
  user?: string;
  password?: string;
}

export interface ProbeResult {
  ok: boolean;
  ms: number;
  at: string;
  error?: string;
}

type Verdict = 'ok' | 'more' | string;

/** One step of a dialog: what to send (after the previous answer), and how to judge each line. */
interface Step {
  send?: string;
  line(l: string): Verdict;
}

const isFinal = (l: string): boolean => /^\d{3} /.test(l);
const code = (want: string) => (l: string): Verdict => (isFinal(l) ? (l.startsWith(want) ? 'ok' : `answered ${l.slice(0, 100)}`) : /^\d{3}-/.test(l) ? 'more' : `unexpected ${l.slice(0, 100)}`);

function dialog(t: ProbeTarget): { steps: Step[]; bye: string } {
  switch (t.kind) {
    case 'smtp':
      return { steps: [{ line: code('220') }, { send: 'NOOP', line: code('250') }], bye: 'QUIT' };
    case 'lmtp':
      return { steps: [{ line: code('220') }, { send: 'LHLO watcher.probe', line: code('250') }], bye: 'QUIT' };
    case 'imap':
      return {
        steps: [
          { line: (l) => (l.startsWith('* OK') ? 'ok' : `unexpected greeting ${l.slice(0, 100)}`) },
          { send: 'p CAPABILITY', line: (l) => (l.startsWith('* CAPABILITY') ? 'more' : l.startsWith('p OK') ? 'ok' : l.startsWith('p ') ? `answered ${l.slice(0, 100)}` : 'more') },
        ],
        bye: 'q LOGOUT',
      };
    case 'pop3':
      return {
        steps: [
          { line: (l) => (l.startsWith('+OK') ? 'ok' : `unexpected greeting ${l.slice(0, 100)}`) },
          // CAPA answers +OK, the capabilities, then "."
          { send: 'CAPA', line: (l) => (l === '.' ? 'ok' : l.startsWith('-ERR') ? `answered ${l.slice(0, 100)}` : 'more') },
        ],
        bye: 'QUIT',
      };
    case 'redis':
      return {
        steps: [
          ...(t.password ? [{ send: `AUTH ${t.password}`, line: (l: string) => (l.startsWith('+OK') ? 'ok' : `AUTH answered ${l.slice(0, 60)}`) }] : []),
          { send: 'PING', line: (l) => (l.startsWith('+PONG') ? 'ok' : `answered ${l.slice(0, 100)}`) },
        ],
        bye: 'QUIT',
      };
    case 'ldap':
      throw new Error('ldap probes bind with ldapts');
  }
}

function finish(started: number, ok: boolean, error?: string): ProbeResult {
  return { ok, ms: Date.now() - started, at: new Date().toISOString(), ...(error ? { error } : {}) };
}

async function ldapProbe(t: ProbeTarget, timeoutMs: number, started: number): Promise<ProbeResult> {
  const client = new Client({ url: `ldap://${t.host}:${t.port}`, timeout: timeoutMs, connectTimeout: timeoutMs });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.bind(t.user ?? '', t.password ?? ''),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no bind answer in ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return finish(started, true);
  } catch (err) {
    return finish(started, false, (err as Error).message);
  } finally {
    clearTimeout(timer);
    void client.unbind().catch(() => undefined);
  }
}

export function probe(t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const started = Date.now();
  if (t.kind === 'ldap') return ldapProbe(t, timeoutMs, started);
  const { steps, bye } = dialog(t);
  return new Promise((resolve) => {
    const s = connect({ host: t.host, port: t.port });
    let buf = '';
    let step = 0;
    let settled = false;
    const done = (ok: boolean, error?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (ok) s.end(`${bye}\r\n`);
      else s.destroy();
      resolve(finish(started, ok, error));
    };
    const timer = setTimeout(() => done(false, `no answer in ${timeoutMs} ms (${step === 0 && !steps[0]!.send ? 'greeting' : steps[step]?.send ?? 'greeting'})`), timeoutMs);
    s.setEncoding('latin1');
    s.on('connect', () => {
      if (steps[0]!.send) s.write(`${steps[0]!.send}\r\n`);
    });
    s.on('data', (d: string) => {
      buf += d;
      let i: number;
      while (!settled && (i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).replace(/\r$/, '');
        buf = buf.slice(i + 1);
        const v = steps[step]!.line(line);
        if (v === 'more') continue;
        if (v !== 'ok') return done(false, v);
        step += 1;
        if (step === steps.length) return done(true);
        s.write(`${steps[step]!.send}\r\n`);
      }
    });
    s.on('error', (err) => done(false, err.message));
    s.on('close', () => done(false, 'connection closed during the probe'));
  });
}
