import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ConfigError, ConfigHistory, loadConfig, renderConfigDocs, type ConfigInput } from '@tiermail/core';
import { repoRoot } from '../harness/paths.js';

const base: ConfigInput = {
  deployment: { postmaster: 'postmaster@example.test' },
  hosts: { relay1: { roles: ['relay'], address: '10.0.0.1' }, store1: { roles: ['store'], address: '10.0.0.2', overrides: { log: { level: 'debug' } } } },
  directory: { urls: ['ldap://127.0.0.1:3389'], baseDn: 'o=tiermail', bindDn: 'cn=admin,o=tiermail', bindPassword: 'x', defaultDomain: 'example.test' },
  redis: { mode: 'single', host: '127.0.0.1', port: 6390 },
};

function writeConfig(obj: unknown, text?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tm-config-'));
  const file = join(dir, 'tiermail.yaml');
  writeFileSync(file, text ?? stringify(obj));
  return file;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems.map((p) => `${p.path} | ${JSON.stringify(p.value)} | ${p.expected}`);
  }
  assert.fail('expected the config to be refused');
}

function withChange(mutate: (c: Record<string, any>) => void): string {
  const c = structuredClone(base) as Record<string, any>;
  mutate(c);
  return writeConfig(c);
}

test('a valid file loads with defaults filled in', () => {
  const { config } = loadConfig({ file: writeConfig(base) });
  assert.equal(config.directory.timeoutMs, 5000);
  assert.equal(config.directory.cache.negativeTtlMs, 15000);
  assert.equal(config.redis.mode, 'single');
  assert.equal(config.limits.maxConnectionsPerIp, 20);
});

test('each kind of invalid value names the key path, the value and what was expected', () => {
  const cases: Array<[(c: Record<string, any>) => void, RegExp]> = [
    [(c) => (c.directory.timeoutMs = 'soon'), /^directory\.timeoutMs \| "soon" \| expected number/],
    [(c) => (c.directory.timeoutMs = -5), /^directory\.timeoutMs \| -5 \| expected >= 0/],
    [(c) => (c.directory.urls = ['http://ds1']), /^directory\.urls\[0\] \| "http:\/\/ds1" \| expected an ldap/],
    [(c) => (c.directory.urls = []), /^directory\.urls \| \[\] \| expected at least one LDAP URL/],
    [(c) => delete c.directory.baseDn, /^directory\.baseDn \| undefined \| required: expected string/],
    [(c) => (c.directory.timoutMs = 1), /^directory \| .* \| unknown key timoutMs/],
    [(c) => (c.log = { level: 'loud' }), /^log\.level \| "loud" \| expected one of "fatal"/],
    [(c) => (c.redis.mode = 'ring'), /^redis\.mode \| "ring" \| expected mode to be one of "single", "sentinel", "cluster"/],
    [(c) => (c.deployment.postmaster = 'nobody'), /^deployment\.postmaster \| "nobody" \| expected an email address/],
    [(c) => (c.hosts.relay1.roles = ['mx']), /^hosts\.relay1\.roles\[0\] \| "mx" \| expected one of "relay"/],
    [(c) => (c.tls = { cert: '/etc/cert.pem' }), /^tls \| .* \| cert and key go together/],
    [(c) => (c.limits = { maxLineLength: 100 }), /^limits\.maxLineLength \| 100 \| expected >= 512/],
    [(c) => (c.redis = { mode: 'cluster', nodes: [] }), /^redis\.nodes \| \[\] \| expected at least 1 item/],
  ];
  for (const [mutate, expected] of cases) {
    const problems = problemsOf(() => loadConfig({ file: withChange(mutate) }));
    assert.ok(problems.some((p) => expected.test(p)), `${expected} not in:\n${problems.join('\n')}`);
  }
});

test('YAML syntax errors name the line', () => {
  const file = writeConfig(undefined, 'deployment:\n  name: [unclosed\n');
  const problems = problemsOf(() => loadConfig({ file }));
  assert.match(problems[0] ?? '', /^line \d+, column \d+ .* not valid YAML/);
});

test('a missing file is a clear error', () => {
  const problems = problemsOf(() => loadConfig({ file: '/nonexistent/tiermail.yaml' }));
  assert.match(problems[0] ?? '', /config file not found/);
});

test('TIERMAIL_* environment variables override keys with the right types', () => {
  const file = writeConfig(base);
  const { config } = loadConfig({
    file,
    env: {
      TIERMAIL_DIRECTORY__TIMEOUT_MS: '2000',
      TIERMAIL_DIRECTORY__BIND_PASSWORD: '12345', // stays a string
      TIERMAIL_DIRECTORY__URLS: '[ldap://a.example:389, ldap://b.example:389]',
      TIERMAIL_DIRECTORY__CACHE__MAX_ENTRIES: '10',
      TIERMAIL_HOSTS__RELAY1__ADDRESS: '10.9.9.9',
      TIERMAIL_METRICS__ENABLED: 'false',
    },
  });
  assert.equal(config.directory.timeoutMs, 2000);
  assert.equal(config.directory.bindPassword, '12345');
  assert.deepEqual(config.directory.urls, ['ldap://a.example:389', 'ldap://b.example:389']);
  assert.equal(config.directory.cache.maxEntries, 10);
  assert.equal(config.hosts.relay1?.address, '10.9.9.9');
  assert.equal(config.metrics.enabled, false);
});

test('an unknown or invalid environment override is refused with its name', () => {
  const file = writeConfig(base);
  assert.match(problemsOf(() => loadConfig({ file, env: { TIERMAIL_DIRECTORY__TIMEOUTS: '1' } }))[0] ?? '', /^TIERMAIL_DIRECTORY__TIMEOUTS \| "1" \| no such config key/);
  assert.match(problemsOf(() => loadConfig({ file, env: { TIERMAIL_DIRECTORY__POOL_SIZE: 'many' } }))[0] ?? '', /^directory\.poolSize \| "many" \| expected number/);
});

test('host overrides apply to that host only; an unknown host is an error', () => {
  const file = writeConfig(base);
  assert.equal(loadConfig({ file, host: 'store1' }).config.log.level, 'debug');
  assert.equal(loadConfig({ file, host: 'relay1' }).config.log.level, 'info');
  assert.equal(loadConfig({ file, env: { TIERMAIL_HOST: 'store1' } }).hostConfig?.roles[0], 'store');
  assert.match(problemsOf(() => loadConfig({ file, host: 'nosuch' }))[0] ?? '', /^hosts\.nosuch .* this host is not in hosts \(known: relay1, store1\)/);
});

test('relative paths are taken from the config file directory', () => {
  const file = writeConfig({ ...base, paths: { var: './state', log: '/var/log/x' } });
  const { config } = loadConfig({ file });
  assert.equal(config.paths.var, join(file, '..', 'state'));
  assert.equal(config.paths.log, '/var/log/x');
});

test('set, diff and rollback round trip through versions', () => {
  const file = writeConfig(undefined, `# operator comment kept\n${stringify(base)}`);
  const h = new ConfigHistory(file);
  const r1 = h.set('directory.timeoutMs', '2500');
  assert.equal(r1.path, 'directory.timeoutMs');
  assert.equal(loadConfig({ file }).config.directory.timeoutMs, 2500);
  assert.match(readFileSync(file, 'utf8'), /# operator comment kept/);
  const r2 = h.set('directory.urls[1]', 'ldap://ds2.example:389');
  assert.deepEqual(loadConfig({ file }).config.directory.urls, ['ldap://127.0.0.1:3389', 'ldap://ds2.example:389']);
  assert.equal(r2.version, r1.version + 1);
  const d = h.diff();
  assert.match(d, /\+.*ldap:\/\/ds2\.example:389/);
  assert.match(h.diff(1, r1.version), /\+\s+timeoutMs: 2500/);
  const back = h.rollback(1);
  assert.equal(back, r2.version + 1);
  assert.equal(loadConfig({ file }).config.directory.timeoutMs, 5000);
  assert.deepEqual(h.list().map((v) => v.version), [1, 2, 3, 4]);
  assert.match(h.list()[3]?.action ?? '', /rollback to 1/);
});

test('an invalid set is refused and leaves the file as it was', () => {
  const file = writeConfig(base);
  const before = readFileSync(file, 'utf8');
  const h = new ConfigHistory(file);
  assert.throws(() => h.set('directory.timeoutMs', 'abc'), /directory\.timeoutMs: "abc": expected number/);
  assert.throws(() => h.set('directory.nosuch', '1'), /no such config key/);
  assert.throws(() => h.rollback(7), /no config version 7/);
  assert.equal(readFileSync(file, 'utf8'), before);
});

test('history keeps the last 100 versions', () => {
  const file = writeConfig(base);
  const h = new ConfigHistory(file);
  for (let i = 1; i <= 105; i += 1) h.set('directory.timeoutMs', String(1000 + i));
  const list = h.list();
  assert.equal(list.length, 100);
  // v1 is the original file, then 105 sets: v2..v106; the oldest six are gone.
  assert.equal(list[0]?.version, 7);
  assert.equal(list[99]?.version, 106);
  assert.match(h.read(106), /timeoutMs: 1105/);
  assert.throws(() => h.read(6), /no config version 6/);
});

test('docs/config.md is generated from the current schema', () => {
  const committed = readFileSync(join(repoRoot, 'docs', 'config.md'), 'utf8');
  assert.equal(committed, renderConfigDocs(), 'docs/config.md is stale: run npm run docs:config');
});
