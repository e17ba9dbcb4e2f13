#!/usr/bin/env node
// The `tiermail` command. Thin: each subcommand calls the package that owns the work.
import { Command, CommanderError } from 'commander';
import { ConfigError, ProvisioningError } from '@tiermail/core';
import { CliContext, UsageError, type GlobalOptions } from './context.js';
import { registerConfig } from './commands/config.js';
import { registerDomain } from './commands/domain.js';
import { registerGroup } from './commands/group.js';
import { registerUser } from './commands/user.js';
import { registerStore } from './commands/store.js';
import { registerQueue } from './commands/queue.js';
import { registerTrace } from './commands/trace.js';
import { registerLifecycle } from './commands/lifecycle.js';
import { StoreError } from '@tiermail/store';

export function buildProgram(env: NodeJS.ProcessEnv, out?: (t: string) => void): Command {
  const program = new Command('tiermail')
    .description('operate a tiermail deployment')
    .option('-c, --config <file>', 'config file (default: TIERMAIL_CONFIG, ./var/tiermail.yaml, /etc/tiermail/tiermail.yaml)')
    .option('--host <name>', 'act as this host of the config (default: TIERMAIL_HOST)')
    .option('--json', 'print results as JSON')
    .showHelpAfterError()
    .exitOverride();
  const ctx = (): CliContext => new CliContext(program.opts<GlobalOptions>(), env, out);
  registerConfig(program, ctx);
  registerDomain(program, ctx);
  registerUser(program, ctx);
  registerGroup(program, ctx);
  registerStore(program, ctx);
  registerQueue(program, ctx);
  registerTrace(program, ctx);
  registerLifecycle(program, ctx);
  return program;
}

export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const program = buildProgram(env);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof ConfigError || err instanceof UsageError || err instanceof ProvisioningError || err instanceof StoreError) {
      process.stderr.write(`tiermail: ${err.message}\n`);
      return err instanceof UsageError ? err.exitCode : 1;
    }
    const e = err as Error;
    process.stderr.write(`tiermail: ${e.message ?? String(err)}\n`);
    return 1;
  }
}

const invoked = process.argv[1] ?? '';
if (invoked.endsWith('/cli/dist/main.js') || invoked.endsWith('/tiermail')) {
  run(process.argv.slice(2)).then(
    (code) => {
      // A command that finished with partial failures set process.exitCode itself.
      process.exitCode = code !== 0 ? code : (process.exitCode ?? 0);
    },
    (err: unknown) => {
      process.stderr.write(`tiermail: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
