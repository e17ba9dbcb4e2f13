#!/usr/bin/env node
// `npm run bench -- <name> [options]` runs bench/<name>.mjs (see docs/benchmarks.md).
// Benchmarks measure speed; they are never part of `npm test`. Each one runs in a child process
// with its own process group, so whatever it starts (servers, their workers) can be stopped
// together: on Ctrl-C or SIGTERM the benchmark is asked to clean up (SIGTERM), and after a grace
// period, or when the hard time limit passes, the whole group is killed.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = join(root, 'bench');
/** Hard limit for one benchmark run, whatever it does (override: BENCH_TIMEOUT_S). */
const limitS = Number(process.env.BENCH_TIMEOUT_S ?? 1200);
const GRACE_MS = 15000;

function known() {
  try {
    return readdirSync(benchDir)
      .filter((f) => f.endsWith('.mjs'))
      .map((f) => f.slice(0, -4))
      .sort();
  } catch {
    return [];
  }
}

const [name, ...rest] = process.argv.slice(2);
const names = known();
if (!name || name === '--help' || name === '-h' || !names.includes(name)) {
  const list = names.length ? names.join(', ') : '(none: bench/ is empty)';
  if (name && name !== '--help' && name !== '-h') process.stderr.write(`bench: unknown benchmark "${name}"; known: ${list}\n`);
  process.stderr.write(`usage: npm run bench -- <name> [options]   (known: ${list}; <name> --help for its options)\n`);
  process.exit(name === '--help' || name === '-h' ? 0 : 2);
}

for (const pkg of ['core', 'store']) {
  if (!existsSync(join(root, 'packages', pkg, 'dist', 'index.js'))) {
    process.stderr.write(`bench: packages/${pkg}/dist is missing; build first (npx tsc -b)\n`);
    process.exit(2);
  }
}

const child = spawn(process.execPath, [join(benchDir, `${name}.mjs`), ...rest], {
  cwd: root,
  stdio: 'inherit',
  // Own process group: the benchmark and everything it starts can be killed at once.
  detached: true,
});

let killTimer;
const killGroup = () => {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
};
const stop = (why) => {
  if (killTimer) return;
  process.stderr.write(`bench: ${why}; stopping ${name}\n`);
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  killTimer = setTimeout(killGroup, GRACE_MS);
};
const hard = setTimeout(() => stop(`time limit of ${limitS} s reached`), limitS * 1000);
process.on('SIGINT', () => stop('interrupted'));
process.on('SIGTERM', () => stop('terminated'));
child.on('exit', (code, signal) => {
  clearTimeout(hard);
  clearTimeout(killTimer);
  // Anything the benchmark left behind in its group goes with it.
  killGroup();
  process.exit(code ?? (signal ? 1 : 0));
});
