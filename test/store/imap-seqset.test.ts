// Sequence sets and response encoding: pure helpers of the IMAP server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSequenceSet, parseSequenceSet, resolveSequenceNumbers, resolveUids, seqSetContains } from '@tiermail/store/imap/seqset';
import { encodeAstring, encodeFlagList, encodeString, statusLine } from '@tiermail/store/imap/encode';
import { formatDateTime, parseDateTime, parseSearchDate } from '@tiermail/store/imap/dates';

test('parse: numbers, ranges, "*", lists; invalid forms are null', () => {
  assert.deepEqual(parseSequenceSet('1,3:5,7:*,*'), [
    { from: 1, to: 1 },
    { from: 3, to: 5 },
    { from: 7, to: '*' },
    { from: '*', to: '*' },
  ]);
  for (const bad of ['', '0', '1:', ':2', 'a', '1,,2', '1:2:3', '4294967296', '-1', '01', '1 2', '$']) assert.equal(parseSequenceSet(bad), null, bad);
  assert.deepEqual(parseSequenceSet('4294967295'), [{ from: 4294967295, to: 4294967295 }]);
});

test('sequence numbers: "*" is the last message, reversed ranges work, out of range is an error', () => {
  assert.deepEqual(resolveSequenceNumbers(parseSequenceSet('2:*')!, 4), [2, 3, 4]);
  assert.deepEqual(resolveSequenceNumbers(parseSequenceSet('4:2,1')!, 5), [1, 2, 3, 4]);
  assert.deepEqual(resolveSequenceNumbers(parseSequenceSet('*:3')!, 5), [3, 4, 5]);
  assert.equal(resolveSequenceNumbers(parseSequenceSet('1:6')!, 5), null);
  assert.equal(resolveSequenceNumbers(parseSequenceSet('*')!, 0), null);
});

test('UIDs: only existing UIDs, "n:*" with n above every UID names the highest (RFC 3501 6.4.8)', () => {
  const uids = [3, 5, 9, 12];
  assert.deepEqual(resolveUids(parseSequenceSet('1:*')!, uids), [3, 5, 9, 12]);
  assert.deepEqual(resolveUids(parseSequenceSet('4:10')!, uids), [5, 9]);
  assert.deepEqual(resolveUids(parseSequenceSet('100:*')!, uids), [12]);
  assert.deepEqual(resolveUids(parseSequenceSet('1:4294967295')!, uids), uids);
  assert.deepEqual(resolveUids(parseSequenceSet('1:*')!, []), []);
  assert.equal(seqSetContains(parseSequenceSet('2,4:*')!, 7, 9), true);
  assert.equal(seqSetContains(parseSequenceSet('2,4:*')!, 3, 9), false);
});

test('format compresses runs', () => {
  assert.equal(formatSequenceSet([9, 1, 2, 3, 7, 10]), '1:3,7,9:10');
  assert.equal(formatSequenceSet([]), '');
});

test('strings: quoted when safe (with escapes), literal when they hold CR, LF, NUL or 8-bit', () => {
  assert.equal(encodeString('INBOX'), '"INBOX"');
  assert.equal(encodeString('a "b" \\c'), '"a \\"b\\" \\\\c"');
  assert.equal(encodeString('a\r\nb'), '{4}\r\na\r\nb');
  assert.equal(encodeString('größe'), `{${Buffer.byteLength('größe')}}\r\ngröße`);
  assert.equal(encodeString('x'.repeat(2000)).startsWith('{2000}\r\n'), true);
  assert.equal(encodeAstring('Sent'), 'Sent');
  assert.equal(encodeAstring('My Folder'), '"My Folder"');
  assert.equal(encodeAstring('NIL'), '"NIL"');
  assert.equal(encodeFlagList(['\\Seen', '$Junk']), '(\\Seen $Junk)');
  assert.equal(encodeFlagList([]), '()');
  assert.equal(statusLine('a1', 'NO', 'bad\r\nthing', 'CANNOT'), 'a1 NO [CANNOT] bad thing');
});

test('dates: INTERNALDATE in UTC, APPEND date-time with zones, SEARCH dates', () => {
  assert.equal(formatDateTime(new Date(Date.UTC(1996, 6, 7, 9, 44, 25))), '"07-Jul-1996 09:44:25 +0000"');
  assert.equal(parseDateTime(' 7-Jul-1996 02:44:25 -0700')?.toISOString(), '1996-07-07T09:44:25.000Z');
  assert.equal(parseDateTime('17-Jul-1996 02:44:25 +0200')?.toISOString(), '1996-07-17T00:44:25.000Z');
  for (const bad of ['31-Feb-2020 00:00:00 +0000', '1-Foo-2020 00:00:00 +0000', '1-Jan-2020 24:00:00 +0000', '1-Jan-2020']) assert.equal(parseDateTime(bad), null, bad);
  assert.equal(parseSearchDate('1-Feb-1994'), Date.UTC(1994, 1, 1));
  assert.equal(parseSearchDate('30-Feb-1994'), null);
});
