// What every subcommand needs: the config file it acts on and how to print results.
import { defaultConfigPath, loadConfig, type LoadedConfig, type Env } from '@tiermail/core';

export interface GlobalOptions {
  config?: string;
  host?: string;
  json?: boolean;
}

export class CliContext {
  private loaded: LoadedConfig | undefined;

  constructor(
    readonly opts: GlobalOptions,
    readonly env: Env,
    readonly out: (text: string) => void = (t) => process.stdout.write(`${t}\n`),
  ) {}

  get configFile(): string {
    return this.opts.config ?? defaultConfigPath(this.env);
  }

  /** The validated config; throws ConfigError naming the bad key. */
  load(): LoadedConfig {
    this.loaded ??= loadConfig({
      file: this.configFile,
      env: this.env,
      ...(this.opts.host !== undefined ? { host: this.opts.host } : {}),
    });
    return this.loaded;
  }

  /** Print a result: JSON with --json, else the human rendering. */
  print(value: unknown, human?: () => string): void {
    if (this.opts.json || !human) this.out(JSON.stringify(value, null, 2));
    else this.out(human());
  }
}

/** An error whose message is for the operator as it is (no stack trace). */
export class UsageError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = 'UsageError';
  }
}
