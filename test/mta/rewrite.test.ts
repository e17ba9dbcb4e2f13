// AddressRewriter alone: anchored, case-insensitive, first match wins, groups, no chaining.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddressRewriter } from '@tiermail/mta/routing/rewrite';

test('rules match the whole address, the first one wins, and results are not rewritten again', () => {
  const r = new AddressRewriter([
    { pattern: '(.+)@old\\.example', replacement: '$1@new.example' },
    { pattern: '(.+)@new\\.example', replacement: 'never@reached.example' },
    { pattern: 'postmaster@.*', replacement: 'admin@example.test' },
  ]);
  assert.equal(r.rewrite('Bob@OLD.example'), 'Bob@new.example');
  assert.equal(r.rewrite('bob@old.example.org'), 'bob@old.example.org', 'anchored: a longer domain does not match');
  assert.equal(r.rewrite('x@new.example'), 'never@reached.example');
  assert.equal(r.rewrite('postmaster@anything'), 'admin@example.test');
  assert.equal(r.rewrite('other@example.test'), 'other@example.test');
  assert.equal(new AddressRewriter([{ pattern: 'a@b', replacement: '$9' }]).rewrite('a@b'), '$9');
  assert.equal(new AddressRewriter([]).empty, true);
});
