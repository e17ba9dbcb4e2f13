// The MMP's failed-login delay (pure, with a fake clock): it grows with recent failures from
// one address or for one user, is capped, and forgets after the window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginFailures } from '@tiermail/mmp/limits';

test('delay grows per address and per user, is capped, and forgets after 15 minutes', () => {
  let now = 0;
  const f = new LoginFailures(1000, () => now);
  assert.equal(f.record('10.0.0.1', 'alice'), 1000);
  assert.equal(f.record('10.0.0.1', 'bob'), 2000, 'same address');
  assert.equal(f.record('10.0.0.2', 'alice'), 2000, 'same user from elsewhere');
  assert.equal(f.record('10.0.0.3', 'carol'), 1000, 'unrelated');
  for (let i = 0; i < 100; i++) f.record('10.0.0.9', 'dave');
  assert.equal(f.record('10.0.0.9', 'dave'), 30000, 'capped at 30 s');
  now += 16 * 60_000;
  assert.equal(f.record('10.0.0.1', 'alice'), 1000, 'forgotten after the window');
});
