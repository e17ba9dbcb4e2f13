// Pure protocol helpers: fed byte by byte and in odd splits, as Dovecot's parser tests do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DotDataDecoder, LineReader, decodeXtext, encodeXtext, parsePathAndParams, type DataProblem } from '@tiermail/core';

function decodeAll(wire: string, split: number): { body: string; done: boolean; rest: string; problem: DataProblem | undefined; size: number } {
  const d = new DotDataDecoder();
  const bytes = Buffer.from(wire, 'latin1');
  let body = '';
  for (let i = 0; i < bytes.length; i += split) {
    const r = d.push(bytes.subarray(i, Math.min(bytes.length, i + split)));
    body += Buffer.concat(r.chunks).toString('latin1');
    if (r.done) {
      const rest = Buffer.concat([r.rest, bytes.subarray(Math.min(bytes.length, i + split))]).toString('latin1');
      return { body, done: true, rest, problem: d.problem, size: d.size };
    }
  }
  return { body, done: false, rest: '', problem: d.problem, size: d.size };
}

test('dot decoder: unstuffing and the end marker, whatever the chunking', () => {
  const wire = 'Subject: x\r\n\r\n..leading dot\r\n.\r\nbody . dot\r\n...\r\n.\r\nNOOP\r\n';
  for (let split = 1; split <= wire.length; split += 1) {
    const r = decodeAll(wire, split);
    assert.equal(r.done, true, `split ${split}`);
    assert.equal(r.body, 'Subject: x\r\n\r\n.leading dot\r\n', `split ${split}`);
    assert.equal(r.rest, 'body . dot\r\n...\r\n.\r\nNOOP\r\n');
    assert.equal(r.problem, undefined);
    assert.equal(r.size, r.body.length);
  }
  const second = decodeAll('a: b\r\n\r\n...\r\n.\r\n', 3);
  assert.equal(second.body, 'a: b\r\n\r\n..\r\n');
});

test('dot decoder: an empty message ends at once and is flagged', () => {
  const r = decodeAll('.\r\n', 1);
  assert.equal(r.done, true);
  assert.equal(r.body, '');
  assert.equal(r.problem, 'no-blank-line');
});

test('dot decoder: a bare-LF terminator does not end the data (no smuggling)', () => {
  const r = decodeAll('a: b\r\n\r\nx\n.\nMAIL FROM:<evil>\r\n', 1);
  assert.equal(r.done, false);
  assert.equal(r.problem, 'bare-lf');
  const r2 = decodeAll('a: b\r\n\r\nx\n.\r\nmore\r\n.\r\n', 2);
  assert.equal(r2.done, true);
  assert.equal(r2.rest, '');
  assert.equal(r2.problem, 'bare-lf');
});

test('dot decoder: each kind of malformed message is named', () => {
  const cases: Array<[string, DataProblem]> = [
    ['a: b\r\n\r\nnul\x00byte\r\n.\r\n', 'nul'],
    ['a: b\r\n\r\nbare\nlf\r\n.\r\n', 'bare-lf'],
    ['a: b\r\n\r\nbare\rcr\r\n.\r\n', 'bare-cr'],
    ['no colon here\r\n\r\nbody\r\n.\r\n', 'bad-header'],
    [' continuation first: x\r\n\r\nbody\r\n.\r\n', 'bad-header'],
    ['bad name: x\r\n\r\nbody\r\n.\r\n', 'bad-header'],
    ['Subject: only a header\r\n.\r\n', 'no-blank-line'],
  ];
  for (const [wire, problem] of cases) {
    for (const split of [1, 5, 1000]) assert.equal(decodeAll(wire, split).problem, problem, JSON.stringify(wire));
  }
  const folded = decodeAll('Subject: a\r\n\tfolded\r\nX-Y: z\r\n\r\nbody\r\n.\r\n', 1);
  assert.equal(folded.problem, undefined);
});

test('line reader: lines, CRLF or LF, and an overlong line dropped without buffering it', () => {
  const r = new LineReader(10);
  r.push(Buffer.from('NOOP\r\nRSET\nHELLOWORLDXX'));
  assert.deepEqual(r.next(), { type: 'line', line: Buffer.from('NOOP') });
  assert.deepEqual(r.next(), { type: 'line', line: Buffer.from('RSET') });
  assert.equal(r.next(), undefined);
  for (let i = 0; i < 1000; i += 1) r.push(Buffer.alloc(1000, 0x41));
  assert.equal(r.next(), undefined);
  assert.ok(r.takeRest().length <= 10, 'the reader keeps no more than the limit');
  r.push(Buffer.from('AAA\r\nQUIT\r\n'));
  const ev = r.next();
  assert.equal(ev?.type, 'too-long');
  assert.deepEqual(r.next(), { type: 'line', line: Buffer.from('QUIT') });
});

test('MAIL/RCPT paths and parameters', () => {
  assert.deepEqual(parsePathAndParams('<a@b.example> SIZE=10 body=8bitmime UID=RET'), {
    address: 'a@b.example',
    params: new Map<string, string | true>([['SIZE', '10'], ['BODY', '8bitmime'], ['UID', 'RET']]),
  });
  assert.equal(parsePathAndParams('<>').address, '');
  assert.equal(parsePathAndParams('<@relay1,@relay2:user@x.example>').address, 'user@x.example');
  assert.equal(parsePathAndParams('<"odd>local"@x.example>').address, '"odd>local"@x.example');
  assert.throws(() => parsePathAndParams('a@b'), /must be in <>/);
  assert.throws(() => parsePathAndParams('<a@b'), /missing >/);
  assert.throws(() => parsePathAndParams('<a b@c>'), /Bad character/);
  assert.throws(() => parsePathAndParams('<a@b> SIZE=1 SIZE=2'), /Duplicate parameter/);
  assert.throws(() => parsePathAndParams(`<${'a'.repeat(400)}@b>`), /too long/);
  assert.equal(decodeXtext(encodeXtext('q1+bob@x.example=é')), 'q1+bob@x.example=é');
  assert.equal(encodeXtext('a+b=c'), 'a+2Bb+3Dc');
});
