#!/usr/bin/env node
// Set-up shared by `npm start` and `npm test`: installs what is missing, then builds.
// Plain Node with no dependencies, because it runs before anything is installed.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const pnpmVersion = String(pkg.packageManager).replace(/^pnpm@/, '');
const quiet = process.argv.includes('--quiet');

// Debian packages the tests and the local stack run for real, and a file each one installs.
const DEBIAN = [
  { pkg: 'slapd', file: '/usr/sbin/slapd' },
  { pkg: 'ldap-utils', file: '/usr/bin/ldapsearch' },
  { pkg: 'redis-server', file: '/usr/bin/redis-server' },
  // Only for `npm test` (--tests): the watcher's status page is tested in headless Chromium.
  ...(process.argv.includes('--tests') ? [{ pkg: 'chromium', file: '/usr/bin/chromium' }] : []),
];

function say(msg) {
  if (!quiet) process.stdout.write(`setup: ${msg}\n`);
}

function fail(msg) {
  process.stderr.write(`setup: ${msg}\n`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.error) fail(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} exited with ${r.status}`);
}

const [major] = process.versions.node.split('.').map(Number);
if (major < 20) fail(`Node.js 20 or newer is needed (this is ${process.version})`);

// 1. Debian packages.
const missing = DEBIAN.filter((d) => !existsSync(d.file)).map((d) => d.pkg);
if (missing.length > 0) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    fail(`missing Debian packages: ${missing.join(' ')}. Install them as root:\n  apt-get install -y ${missing.join(' ')}`);
  }
  say(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-q'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { env, stdio: ['ignore', 'ignore', 'inherit'] });
}

// 2. pnpm, pinned by packageManager (corepack cannot download it here).
function pnpmOk() {
  try {
    return execFileSync('pnpm', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() === pnpmVersion;
  } catch {
    return false;
  }
}
if (!pnpmOk()) {
  say(`installing pnpm@${pnpmVersion} with npm`);
  run('npm', ['install', '-g', '--no-fund', '--no-audit', `pnpm@${pnpmVersion}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (!pnpmOk()) fail(`pnpm@${pnpmVersion} is not on PATH after installing it`);
}

// 3. The workspace and the build.
say('installing the workspace');
run('pnpm', ['install', '--frozen-lockfile', '--reporter=silent'], { stdio: ['ignore', 'inherit', 'inherit'] });
say('building');
run('pnpm', ['exec', 'tsc', '-b']);
say('ready');
