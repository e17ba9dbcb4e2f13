// `tiermail store expire` on a real store: --dry-run lists and keeps, the real run removes
// exactly what the rules select (quota usage follows), and a bad pattern is refused by name.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageStore } from '@tiermail/store';
import { runCli } from '../harness/cli.js';
import { startStore, type StoreHandle } from '../harness/store.js';

let store: StoreHandle;
const DAY = 86_400_000;

before(async () => {
  store = await startStore({
    workers: 1,
    store: {
      expire: {
        rules: [
          { name: 'trash', folders: '.*/Trash', messageDays: 2 },
          { name: 'old', messageDays: 365 },
        ],
      },
    },
  });
  const s = MessageStore.open(store.config.store);
  try {
    s.openUser('alice@example.test').createMailbox('Trash');
    const put = (folder: string, daysOld: number, subject: string) =>
      s.deliver({ data: Buffer.from(`Subject: ${subject}\r\n\r\nx\r\n`) }, [{ user: 'alice@example.test', ...(folder === 'INBOX' ? {} : { folder }) }], {
        internalDate: new Date(Date.now() - daysOld * DAY),
      });
    await put('Trash', 5, 'old trash');
    await put('Trash', 1, 'new trash');
    await put('INBOX', 400, 'ancient');
    await put('INBOX', 30, 'recent');
  } finally {
    s.close();
  }
});
after(async () => {
  await store?.stop();
  await store?.cleanup();
});

const cli = (...args: string[]) => runCli(['-c', store.configFile, '--host', 'store1', ...args]);
const count = (folder: string): number => {
  const s = MessageStore.open(store.config.store);
  try {
    const m = s.openUser('alice@example.test');
    const n = m.messages(folder).length;
    m.close();
    return n;
  } finally {
    s.close();
  }
};

test('dry run lists, the real run removes what the rules select', async () => {
  const dry = await cli('--json', 'store', 'expire', '--dry-run');
  assert.equal(dry.code, 0, dry.stderr);
  const report = JSON.parse(dry.stdout) as { removed: Array<{ mailbox: string; uid: number; rule: string }> };
  assert.deepEqual(
    report.removed.map((m) => `${m.mailbox}:${m.uid}:${m.rule}`).sort(),
    ['INBOX:1:old', 'Trash:1:trash'],
  );
  assert.equal(count('Trash'), 2);
  assert.equal(count('INBOX'), 2);
  const real = await cli('store', 'expire', 'alice@example.test');
  assert.equal(real.code, 0, real.stderr);
  assert.match(real.stdout, /2 message\(s\) removed from 2 mailbox\(es\) of 1 user\(s\)/);
  assert.equal(count('Trash'), 1);
  assert.equal(count('INBOX'), 1);
  const again = await cli('store', 'expire');
  assert.match(again.stdout, /^0 message\(s\) removed/m);
});

test('a rule with a broken pattern is refused by name', async () => {
  const r = await runCli(['-c', store.configFile, '--host', 'store1', 'store', 'expire'], { TIERMAIL_STORE__EXPIRE__RULES: '[{"name":"x","folders":"(("}]' });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /store\.expire\.rules x: folders "\(\(" is not a regular expression/);
});
