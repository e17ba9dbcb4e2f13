#!/usr/bin/env node
// Runs every compiled test file with node's test runner, two files at a time (each file starts
// its own slapd and redis-server on free ports), and ends with "N passed, N failed".
// `npm test -- directory config` runs only the files whose path contains one of the words.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));

function find(dir) {
  let out = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(find(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

// Only compiled files whose TypeScript source still exists: tsc -b leaves outputs of deleted tests.
const hasSource = (f) => existsSync(f.replace(`${join(root, 'test', 'dist')}`, join(root, 'test')).replace(/\.js$/, '.ts'));
const files = find(join(root, 'test', 'dist'))
  .filter(hasSource)
  .filter((f) => filters.length === 0 || filters.some((w) => relative(root, f).includes(w)))
  .sort();
if (files.length === 0) {
  process.stderr.write(`no test files found${filters.length ? ` matching ${filters.join(', ')}` : ''}; did the build run?\n`);
  process.exit(1);
}

const args = [
  '--test',
  '--test-concurrency=2',
  '--test-timeout=300000',
  '--test-reporter=spec',
  '--test-reporter-destination=stdout',
  `--test-reporter=${join(root, 'scripts', 'summary-reporter.mjs')}`,
  '--test-reporter-destination=stdout',
  ...files,
];
const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
