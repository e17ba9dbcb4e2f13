// Property tests of the other parsers (fast-check; `FUZZ_RUNS` raises the count for the long
// fuzz run, `npm run fuzz`): the POP3 session before login, the MIME structure parser with
// ENVELOPE/BODYSTRUCTURE, the relay's DATA scanner and its submission header hold. Properties:
// nothing throws, replies are well formed, and feeding bytes in pieces changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MessageScanner } from '@tiermail/mta';
import { HeaderHold } from '@tiermail/mta/smtp/header-hold';
import { bodyStructure, envelope } from '@tiermail/store/mime/imap-structure';
import { parseMessage } from '@tiermail/store/mime/structure';
import { Pop3Session } from '@tiermail/store/pop3/session';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

function split(buf: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => Math.floor(c * buf.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const a of at) {
    out.push(buf.subarray(prev, a));
    prev = a;
  }
  out.push(buf.subarray(prev));
  return out;
}

const refuseAll = {
  plaintextAllowed: () => true,
  verify: async () => ({ ok: false as const, code: 'AUTHENTICATIONFAILED' as const, text: 'no', reason: 'fuzz' }),
};

test('POP3 session before login: any line gets +OK or -ERR (or a close), never a throw', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.oneof(fc.constantFrom('CAPA', 'USER alice', 'PASS x', 'AUTH PLAIN', 'AUTH PLAIN AGFsaWNlAHg=', '*', 'STLS', 'NOOP', 'STAT', 'QUIT', 'UIDL', 'TOP 1 2'), fc.string({ maxLength: 120 })), {
        maxLength: 15,
      }),
      async (lines) => {
        const s = new Pop3Session({
          store: { openUser: () => assert.fail('no login succeeds') },
          login: refuseAll,
          locks: { acquire: () => assert.fail('no login succeeds') } as never,
          remoteAddress: '127.0.0.1',
          secure: false,
          startTls: false,
          hostname: 'h',
          authFailureDelayMs: 0,
          maxAuthFailures: 1000,
          delay: async () => undefined,
        });
        for (const line of lines) {
          const a = await s.command(line);
          if (a.kind === 'reply' || a.kind === 'close') assert.match(a.text, /^(\+OK|-ERR|\+ )/);
          if (a.kind === 'close') break;
        }
      },
    ),
    { numRuns: RUNS },
  );
});

// Messages that look like MIME: headers (some folded), boundaries, parts nested, junk.
const mimeish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'Content-Type: multipart/mixed; boundary="b1"',
        'Content-Type: multipart/alternative; boundary=b2',
        'Content-Type: message/rfc822',
        'Content-Type: text/plain; charset="utf-8"; name*=UTF-8\'\'x%20y',
        'Content-Transfer-Encoding: base64',
        'Subject: =?utf-8?q?hi?=',
        'From: "A" <a@b>, group: c@d;',
        'To: <>',
        '--b1',
        '--b1--',
        '--b2',
        '--b2--',
        '',
        '\t folded',
      ),
      fc.string({ maxLength: 60 }),
    ),
    { maxLength: 40 },
  )
  .map((lines) => Buffer.from(lines.join('\r\n'), 'latin1'));

test('MIME: any message parses, and ENVELOPE and BODYSTRUCTURE render, never a throw', () => {
  fc.assert(
    fc.property(mimeish, (buf) => {
      const root = parseMessage(buf);
      assert.equal(typeof envelope(root), 'string');
      const bs = bodyStructure(root, true);
      assert.ok(bs.startsWith('('), bs.slice(0, 40));
    }),
    { numRuns: RUNS },
  );
});

const dataish = fc
  .array(fc.oneof(fc.constantFrom('Received: x', 'Subject: s', 'Message-ID: <a@b>', '', '.', 'body', 'X: \u00e9', '\t cont'), fc.string({ maxLength: 40 })), { maxLength: 30 })
  .map((lines) => Buffer.from(lines.join(fc.sample(fc.constantFrom('\r\n', '\n', '\r'), 1)[0] ?? '\r\n'), 'latin1'));

test('relay DATA scanner: split anywhere gives the same verdict as fed whole', () => {
  fc.assert(
    fc.property(dataish, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }), (buf, cuts) => {
      const whole = new MessageScanner();
      whole.push(buf);
      const pieces = new MessageScanner();
      for (const c of split(buf, cuts)) pieces.push(c);
      assert.deepEqual(pieces.result(), whole.result());
    }),
    { numRuns: RUNS },
  );
});

test('submission header hold: split anywhere gives the same bytes (Message-ID aside) as fed whole', () => {
  const now = () => new Date('2026-11-25T00:00:00Z');
  const run = (chunks: Buffer[]): string => {
    const h = new HeaderHold('relay.example', 4096, now);
    const out = Buffer.concat([...chunks.map((c) => h.push(c)), h.end()]).toString('latin1');
    // Only the Message-ID the hold adds (first line, ours) is random.
    return out.replace(/^Message-ID: <[^>]*@relay\.example>\r\n/, 'Message-ID: <x>\r\n');
  };
  fc.assert(
    fc.property(dataish, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }), (buf, cuts) => {
      const whole = run([buf]);
      assert.equal(run(split(buf, cuts)), whole);
      assert.ok(whole.endsWith(buf.toString('latin1')), 'the message itself is kept as it came');
    }),
    { numRuns: RUNS },
  );
});
