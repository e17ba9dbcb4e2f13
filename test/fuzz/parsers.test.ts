// Property tests of the protocol parsers (fast-check): the short run that is part of
// `npm test`; the long fuzz run (issue 11) raises FUZZ_RUNS. Properties: no input throws; input
// split anywhere gives the same result as input fed whole; after junk and a line end, a valid
// command is still understood (the session resynchronises).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DotDataDecoder } from '@tiermail/core';
import { ImapReceiver, receiveAll, type ReceiverEvent } from '@tiermail/store/imap/index';
import { LmtpSession } from '@tiermail/store/lmtp/session';

const RUNS = 300;

function feed(chunks: Buffer[]): ReceiverEvent[] {
  const r = new ImapReceiver({ maxLineBytes: 4096 });
  const out: ReceiverEvent[] = [];
  for (const c of chunks) {
    r.push(c);
    for (let ev = r.next(); ev; ev = r.next()) out.push(ev);
  }
  return out;
}

/** Cut a buffer at the given fractional positions. */
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

const strip = (evs: ReceiverEvent[]): string => JSON.stringify(evs, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('latin1') : v));

// Inputs that look like IMAP: tags, atoms, quoted strings, literals, lists, junk bytes.
const imapish = fc
  .array(
    fc.oneof(
      fc.constantFrom('a1 ', 'NOOP', 'LOGIN ', 'SELECT ', '"quoted \\" str"', '(', ')', ' ', '\r\n', '{5}\r\nhello', '{3+}\r\nabc', 'NIL', 'BODY[HEADER]', '\0', '*'),
      fc.string({ maxLength: 12 }),
      fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a).toString('latin1')),
    ),
    { maxLength: 40 },
  )
  .map((parts) => Buffer.from(parts.join(''), 'latin1'));

test('IMAP receiver: never throws, and byte boundaries do not change what it parses', () => {
  fc.assert(
    fc.property(imapish, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }), (input, cuts) => {
      const whole = feed([input]);
      const pieces = feed(split(input, cuts));
      assert.equal(strip(pieces), strip(whole));
    }),
    { numRuns: Number(process.env.FUZZ_RUNS ?? RUNS) },
  );
});

test('IMAP receiver: after any junk and a line end, the next command is parsed', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (junk) => {
      // Junk may open a literal ({n}) that swallows what follows; close it with enough bytes.
      const input = Buffer.concat([Buffer.from(junk), Buffer.from(`\r\n${' '.repeat(300)}\r\nz9 NOOP\r\n`)]);
      const evs = receiveAll(input, { maxLineBytes: 4096 });
      const last = evs.at(-1);
      assert.ok(last?.kind === 'command' && last.command.tag === 'z9' && last.command.name === 'NOOP', strip(evs.slice(-2)));
    }),
    { numRuns: Number(process.env.FUZZ_RUNS ?? RUNS) },
  );
});

test('LMTP session: any command line gets a reply with a valid code, never a throw', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.constantFrom('LHLO x', 'MAIL FROM:<a@b>', 'RCPT TO:<u@example.test>', 'DATA', 'RSET', 'QUIT', 'NOOP'), fc.string({ maxLength: 80 })), { maxLength: 20 }), (lines) => {
      const s = new LmtpSession({ hostname: 'h', defaultDomain: 'example.test', maxRecipients: 5, maxMessageSize: 1000, maxErrors: 1000 });
      for (const line of lines) {
        const r = s.command(line);
        assert.match(r.reply, /^[2345]\d\d[ -]/);
        if (r.kind === 'data') s.endTransaction();
      }
    }),
    { numRuns: Number(process.env.FUZZ_RUNS ?? RUNS) },
  );
});

test('DATA decoder: split anywhere gives the same bytes and the same end as fed whole', () => {
  const body = fc
    .array(fc.oneof(fc.constantFrom('\r\n', '.', '..', '\r\n.\r\n', 'Subject: x\r\n', '\n', '\r', 'text'), fc.string({ maxLength: 10 })), { maxLength: 30 })
    .map((p) => Buffer.from(p.join(''), 'latin1'));
  const run = (chunks: Buffer[]): string => {
    const d = new DotDataDecoder();
    const out: Buffer[] = [];
    for (const c of chunks) {
      const r = d.push(c);
      out.push(...r.chunks.map((x) => Buffer.from(x)));
      if (r.done) return `${Buffer.concat(out).toString('latin1')}|done|${r.rest.toString('latin1')}|${d.problem ?? ''}`;
    }
    return `${Buffer.concat(out).toString('latin1')}|open`;
  };
  fc.assert(
    fc.property(body, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }), (input, cuts) => {
      // Compare up to the end marker: after it, bytes belong to the next command either way.
      const whole = run([input]);
      const pieces = run(split(input, cuts));
      assert.equal(pieces.split('|done|')[0], whole.split('|done|')[0]);
      assert.equal(pieces.includes('|done|'), whole.includes('|done|'));
    }),
    { numRuns: Number(process.env.FUZZ_RUNS ?? RUNS) },
  );
});
