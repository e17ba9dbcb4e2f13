// The IMAP receiver and parser as pure functions over bytes: every input is also fed one byte
// at a time and split at every position, and must give the same events (Dovecot's
// test-imap-parser does the same), within the line, literal and depth limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImapReceiver, receiveAll, type ReceiverEvent, type ReceiverOptions } from '@tiermail/store/imap/parser';

function feedBytewise(input: Buffer, opts: ReceiverOptions = {}, onStep?: (r: ImapReceiver) => void): ReceiverEvent[] {
  const r = new ImapReceiver(opts);
  const out: ReceiverEvent[] = [];
  for (const byte of input) {
    r.push(Buffer.from([byte]));
    for (let ev = r.next(); ev; ev = r.next()) out.push(ev);
    onStep?.(r);
  }
  return out;
}

function feedSplit(input: Buffer, at: number, opts: ReceiverOptions = {}): ReceiverEvent[] {
  const r = new ImapReceiver(opts);
  const out: ReceiverEvent[] = [];
  for (const part of [input.subarray(0, at), input.subarray(at)]) {
    r.push(part);
    for (let ev = r.next(); ev; ev = r.next()) out.push(ev);
  }
  return out;
}

/** Events for the input whole, byte by byte and split anywhere must agree. */
function events(text: string | Buffer, opts: ReceiverOptions = {}): ReceiverEvent[] {
  const input = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  const whole = receiveAll(input, opts);
  assert.deepEqual(feedBytewise(input, opts), whole, 'byte by byte');
  for (let at = 1; at < input.length; at += Math.max(1, Math.floor(input.length / 40))) assert.deepEqual(feedSplit(input, at, opts), whole, `split at ${at}`);
  return whole;
}

test('a simple command: tag, upper-cased name, no arguments', () => {
  assert.deepEqual(events('a1 noop\r\n'), [{ kind: 'command', command: { tag: 'a1', name: 'NOOP', args: [] } }]);
});

test('need more input until the line ends; bare LF is accepted', () => {
  const r = new ImapReceiver();
  r.push(Buffer.from('a1 NO'));
  assert.equal(r.next(), null);
  r.push(Buffer.from('OP\n'));
  assert.deepEqual(r.next(), { kind: 'command', command: { tag: 'a1', name: 'NOOP', args: [] } });
});

test('synchronizing literal: a continuation first, then the command with the literal bytes', () => {
  const evs = events('a2 LOGIN {5}\r\nalice "pa\\"ss\\\\"\r\n');
  assert.equal(evs[0]?.kind, 'continue');
  assert.deepEqual(evs[1], {
    kind: 'command',
    command: {
      tag: 'a2',
      name: 'LOGIN',
      args: [
        { type: 'literal', value: Buffer.from('alice'), nonSync: false },
        { type: 'quoted', value: 'pa"ss\\' },
      ],
    },
  });
});

test('LITERAL+ needs no continuation; lists, NIL, flags and a literal with CRLF inside', () => {
  const evs = events('A3 APPEND INBOX (\\Seen $Junk) NIL {12+}\r\nHello\r\nworld\r\n');
  assert.deepEqual(evs, [
    {
      kind: 'command',
      command: {
        tag: 'A3',
        name: 'APPEND',
        args: [
          { type: 'atom', value: 'INBOX' },
          { type: 'list', items: [{ type: 'atom', value: '\\Seen' }, { type: 'atom', value: '$Junk' }] },
          { type: 'nil' },
          { type: 'literal', value: Buffer.from('Hello\r\nworld'), nonSync: true },
        ],
      },
    },
  ]);
});

test('FETCH sections arrive as one atom; nested lists; several literals; {0}', () => {
  const evs = events('f UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From "To")]<0.100>) ((a (b)) {0+}\r\n {3}\r\nxyz)\r\n');
  const cmd = evs.find((e) => e.kind === 'command');
  assert.ok(cmd && cmd.kind === 'command');
  assert.equal(cmd.command.name, 'UID');
  assert.deepEqual(cmd.command.args.slice(0, 3), [
    { type: 'atom', value: 'FETCH' },
    { type: 'atom', value: '1:*' },
    { type: 'list', items: [{ type: 'atom', value: 'FLAGS' }, { type: 'atom', value: 'BODY.PEEK[HEADER.FIELDS (From "To")]<0.100>' }] },
  ]);
  assert.deepEqual(cmd.command.args[3], {
    type: 'list',
    items: [
      { type: 'list', items: [{ type: 'atom', value: 'a' }, { type: 'list', items: [{ type: 'atom', value: 'b' }] }] },
      { type: 'literal', value: Buffer.alloc(0), nonSync: true },
      { type: 'literal', value: Buffer.from('xyz'), nonSync: false },
    ],
  });
  assert.equal(evs.filter((e) => e.kind === 'continue').length, 1, 'one continuation, for the synchronizing literal');
});

test('a "{5}" inside a quoted string is not a literal', () => {
  assert.deepEqual(events('a LOGIN "x {5}"\r\n'), [
    { kind: 'command', command: { tag: 'a', name: 'LOGIN', args: [{ type: 'quoted', value: 'x {5}' }] } },
  ]);
});

test('malformed commands answer BAD with their tag, and the next command still parses', () => {
  const evs = events('t1 FETCH 1 (FLAGS\r\nt2 LOGIN "open\r\nt3 NOOP  x\r\nt4 X "a\\b"\r\nt5 X a)\r\nt6\r\nt7 1BAD\r\nok NOOP\r\n');
  const errors = evs.filter((e) => e.kind === 'error');
  assert.deepEqual(
    errors.map((e) => e.kind === 'error' && [e.tag, e.status]),
    [
      ['t1', 'BAD'],
      ['t2', 'BAD'],
      ['t3', 'BAD'],
      ['t4', 'BAD'],
      ['t5', 'BAD'],
      ['t6', 'BAD'],
      ['t7', 'BAD'],
    ],
  );
  assert.deepEqual(evs.at(-1), { kind: 'command', command: { tag: 'ok', name: 'NOOP', args: [] } });
});

test('no valid tag: untagged BAD; NUL and control bytes are refused, not crashed on', () => {
  const evs = events(Buffer.from('+ NOOP\r\n\x00\x01\xff junk\r\na NOOP \x00\r\na2 LOGIN "x\x00y" z\r\nok NOOP\r\n', 'latin1'));
  assert.deepEqual(
    evs.map((e) => (e.kind === 'error' ? [e.tag, e.status] : e.kind === 'command' ? e.command.tag : e.kind)),
    [[null, 'BAD'], [null, 'BAD'], ['a', 'BAD'], ['a2', 'BAD'], 'ok'],
  );
});

test('a command line over the limit is refused with its tag and dropped without being kept', () => {
  const long = `big NOOP ${'x'.repeat(5000)}\r\nnext NOOP\r\n`;
  let maxHeld = 0;
  const evs = feedBytewise(Buffer.from(long), { maxLineBytes: 100 }, (r) => (maxHeld = Math.max(maxHeld, r.bufferedBytes)));
  assert.deepEqual(evs[0], { kind: 'error', tag: 'big', status: 'BAD', text: 'Command line too long' });
  assert.deepEqual(evs[1], { kind: 'command', command: { tag: 'next', name: 'NOOP', args: [] } });
  assert.ok(maxHeld <= 101, `held ${maxHeld} bytes`);
  assert.deepEqual(events(long, { maxLineBytes: 100 }), evs);
});

test('the limit counts the whole command text across literals', () => {
  const evs = events(`a X {3+}\r\nabc ${'y'.repeat(200)}\r\nb NOOP\r\n`, { maxLineBytes: 100 });
  assert.deepEqual(
    evs.map((e) => e.kind === 'error' ? e.tag : e.kind === 'command' ? e.command.tag : e.kind),
    ['a', 'b'],
  );
});

test('a synchronizing literal over the limit: tagged NO [TOOBIG], no continuation, next command parses', () => {
  const evs = events('a APPEND INBOX {1000}\r\nb NOOP\r\n', { literalLimit: () => 100 });
  assert.deepEqual(evs, [
    { kind: 'error', tag: 'a', status: 'NO', code: 'TOOBIG', text: 'Literal too big' },
    { kind: 'command', command: { tag: 'b', name: 'NOOP', args: [] } },
  ]);
});

test('a LITERAL+ literal over the limit: BAD [TOOBIG] at once, its bytes skipped, never buffered', () => {
  const body = 'x'.repeat(100_000);
  const input = Buffer.from(`a APPEND INBOX {${body.length}+}\r\n${body} {5+}\r\nhello\r\nb NOOP\r\n`);
  let maxHeld = 0;
  const evs = feedBytewise(input, { literalLimit: (name) => (name === 'APPEND' ? 1000 : 10) }, (r) => (maxHeld = Math.max(maxHeld, r.bufferedBytes)));
  assert.deepEqual(evs, [
    { kind: 'error', tag: 'a', status: 'BAD', code: 'TOOBIG', text: 'Literal too big' },
    { kind: 'command', command: { tag: 'b', name: 'NOOP', args: [] } },
  ]);
  assert.ok(maxHeld < 64, `held ${maxHeld} bytes while skipping`);
});

test('the literal limit is asked per command name, UID commands included', () => {
  const asked: string[] = [];
  events('a APPEND x {1+}\r\nz\r\nb UID fetch 1 {1+}\r\nz\r\n', { literalLimit: (n) => (asked.push(n), 10) });
  assert.ok(asked.includes('APPEND') && asked.includes('UID FETCH'), asked.join(','));
});

test('lists nested deeper than the limit are refused', () => {
  const deep = `a X ${'('.repeat(20)}${')'.repeat(20)}\r\n`;
  assert.equal(events(deep, { maxListDepth: 16 })[0]?.kind, 'error');
  assert.equal(events(deep, { maxListDepth: 32 })[0]?.kind, 'command');
});

test('expectLine returns the next line raw (AUTHENTICATE), then commands resume', () => {
  const r = new ImapReceiver({ maxLineBytes: 50 });
  r.push(Buffer.from('a AUTHENTICATE PLAIN\r\nAGFsaWNlAHg=\r\nb NOOP\r\n'));
  assert.equal(r.next()?.kind, 'command');
  r.expectLine();
  assert.deepEqual(r.next(), { kind: 'line', line: Buffer.from('AGFsaWNlAHg='), tooLong: false });
  assert.deepEqual(r.next(), { kind: 'command', command: { tag: 'b', name: 'NOOP', args: [] } });
  r.expectLine();
  r.push(Buffer.from(`${'A'.repeat(80)}\r\nc NOOP\r\n`));
  assert.deepEqual(r.next(), { kind: 'line', line: Buffer.alloc(0), tooLong: true });
  assert.deepEqual(r.next(), { kind: 'command', command: { tag: 'c', name: 'NOOP', args: [] } });
});

test('random binary junk never throws and never desynchronises the next command', () => {
  let seed = 42;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  for (let i = 0; i < 500; i++) {
    const junk = Buffer.alloc(1 + (rand() % 300));
    for (let j = 0; j < junk.length; j++) junk[j] = rand() & 0xff;
    if (/\{\d+\+?\}\r?$/m.test(junk.toString('latin1'))) continue;
    const evs = receiveAll(Buffer.concat([junk, Buffer.from('\r\nzz NOOP\r\n')]), { maxLineBytes: 200 });
    assert.deepEqual(evs.at(-1), { kind: 'command', command: { tag: 'zz', name: 'NOOP', args: [] } }, `junk ${junk.toString('hex')}`);
  }
});
