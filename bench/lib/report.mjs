// Machine description and docs/benchmarks.md upkeep: each benchmark owns the text between
// <!-- bench:NAME --> and <!-- /bench:NAME --> and rewrites only that; the rest of the file
// (other benchmarks, hand-written explanations) is kept as it is.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism, release, totalmem } from 'node:os';
import { basename } from 'node:path';

export function machine() {
  let cpu = 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1].trim();
  } catch {
    /* not Linux */
  }
  let os = '';
  try {
    const m = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) os = m[1];
  } catch {
    /* none */
  }
  return {
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    cpu,
    kernel: release(),
    os,
    node: process.version,
  };
}

/** The file system under a path, as `df -T` names it (ext4, xfs, tmpfs, overlay ...). */
export function fileSystemOf(path) {
  try {
    const out = execFileSync('df', ['-T', path], { encoding: 'utf8' }).trim().split('\n');
    const cols = out[out.length - 1].split(/\s+/);
    let journal = '';
    if (cols[1] === 'ext4' || cols[1] === 'ext3') {
      // jbd2 lists the journals it runs; none for the device means ext4 without a journal.
      const dev = basename(cols[0]);
      journal = existsSync(`/proc/fs/jbd2/${dev}-8`) ? ', with journal' : existsSync('/proc/fs/jbd2') ? ', without a journal' : '';
    }
    return `${cols[1]} (${cols[0]}${journal})`;
  } catch {
    return 'unknown';
  }
}

const DEFAULT_HEAD = `# Benchmarks

Speed is measured here, never in the tests. Each section below is written by its benchmark
(\`npm run bench -- <name>\`), which replaces only its own section between the HTML comments.
`;

export function writeSection(file, name, body) {
  const open = `<!-- bench:${name} -->`;
  const close = `<!-- /bench:${name} -->`;
  const block = `${open}\n${body.trim()}\n${close}`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : DEFAULT_HEAD;
  const a = text.indexOf(open);
  const b = text.indexOf(close);
  if (a >= 0 && b > a) text = text.slice(0, a) + block + text.slice(b + close.length);
  else text = `${text.trimEnd()}\n\n${block}\n`;
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

export function fmt(n, digits = 0) {
  if (!Number.isFinite(n)) return '-';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
