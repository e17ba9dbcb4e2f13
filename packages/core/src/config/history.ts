// Versioned edits of the config file: `tiermail config set/diff/history/rollback`.
// Every change is validated before it is written, written atomically, and kept as a numbered
// version beside the file (the last `keep` versions, 100 by default).
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { parseDocument } from 'yaml';
import { configSchema } from './schema.js';
import { ConfigError } from './errors.js';
import { buildConfig, parseValue, parseYamlText, type Env } from './load.js';
import { resolvePath, splitDotted, wantsString } from './walk.js';

export interface ConfigVersion {
  version: number;
  time: string;
  action: string;
}

const VERSION_FILE = /^v(\d{6})\.yaml$/;

/** Write a file so that a crash leaves either the old or the new content, never a mix. */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o640 });
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dfd = openSync(dirname(file), 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

export class ConfigHistory {
  readonly dir: string;

  constructor(
    readonly file: string,
    private readonly env: Env = {},
    readonly keep = 100,
  ) {
    this.dir = join(dirname(file), '.history', basename(file));
  }

  private versionPath(version: number): string {
    return join(this.dir, `v${String(version).padStart(6, '0')}.yaml`);
  }

  private logPath(): string {
    return join(this.dir, 'log.jsonl');
  }

  /** Versions still kept, oldest first. */
  list(): ConfigVersion[] {
    if (!existsSync(this.dir)) return [];
    const actions = new Map<number, ConfigVersion>();
    if (existsSync(this.logPath())) {
      for (const line of readFileSync(this.logPath(), 'utf8').split('\n')) {
        if (!line.trim()) continue;
        const entry = JSON.parse(line) as ConfigVersion;
        actions.set(entry.version, entry);
      }
    }
    return readdirSync(this.dir)
      .map((f) => VERSION_FILE.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b)
      .map((v) => actions.get(v) ?? { version: v, time: '', action: 'unknown' });
  }

  read(version: number): string {
    const p = this.versionPath(version);
    if (!existsSync(p)) {
      const kept = this.list().map((v) => v.version);
      throw new Error(
        `no config version ${version} (kept: ${kept.length ? `${kept[0]}..${kept[kept.length - 1]}` : 'none'})`,
      );
    }
    return readFileSync(p, 'utf8');
  }

  private latest(): number {
    const all = this.list();
    return all.length ? (all[all.length - 1] as ConfigVersion).version : 0;
  }

  /** Store `text` as a new version (unless it equals the latest one) and prune old versions. */
  record(text: string, action: string): number {
    mkdirSync(this.dir, { recursive: true });
    const last = this.latest();
    if (last > 0 && this.read(last) === text) return last;
    const version = last + 1;
    writeFileAtomic(this.versionPath(version), text);
    const entry: ConfigVersion = { version, time: new Date().toISOString(), action };
    appendFileSync(this.logPath(), `${JSON.stringify(entry)}\n`);
    const all = this.list();
    for (const old of all.slice(0, Math.max(0, all.length - this.keep))) unlinkSync(this.versionPath(old.version));
    return version;
  }

  private current(): string {
    return readFileSync(this.file, 'utf8');
  }

  /** Validate and write new file text, keeping the previous content as a version too. */
  private commit(text: string, action: string): number {
    buildConfig(parseYamlText(text, this.file), this.file, { env: this.env, baseDir: dirname(this.file) });
    this.record(this.current(), 'before change');
    writeFileAtomic(this.file, text);
    return this.record(text, action);
  }

  /** Set KEY (dotted path, e.g. directory.timeoutMs or directory.urls[1]) to a value. */
  set(key: string, valueText: string): { version: number; path: string } {
    const text = this.current();
    const doc = parseDocument(text);
    const raw = parseYamlText(text, this.file);
    const found = resolvePath(configSchema, splitDotted(key), raw);
    if (!found) {
      throw new ConfigError(this.file, [{ path: key, value: valueText, expected: 'no such config key (see docs/config.md)' }]);
    }
    doc.setIn(found.path, parseValue(valueText, wantsString(found.schema)));
    const path = found.path.map((s) => (typeof s === 'number' ? `[${s}]` : `.${s}`)).join('').replace(/^\./, '');
    return { version: this.commit(doc.toString({ flowCollectionPadding: false }), `set ${path}`), path };
  }

  /** Make version N the current file again (recorded as a new version). */
  rollback(version: number): number {
    return this.commit(this.read(version), `rollback to ${version}`);
  }

  /** Unified diff between two versions; default: the previous version against the current file. */
  diff(from?: number, to?: number): string {
    const versions = this.list();
    const current = this.current();
    let fromVersion = from;
    if (fromVersion === undefined) {
      // Compare with the newest kept version that differs from what is on disk.
      const older = versions.filter((v) => this.read(v.version) !== current);
      fromVersion = older.length ? (older[older.length - 1] as ConfigVersion).version : undefined;
    }
    const oldText = fromVersion === undefined ? current : this.read(fromVersion);
    const newText = to === undefined ? current : this.read(to);
    return createTwoFilesPatch(
      fromVersion === undefined ? 'current' : `v${fromVersion}`,
      to === undefined ? 'current' : `v${to}`,
      oldText,
      newText,
      undefined,
      undefined,
      { context: 3 },
    );
  }
}
