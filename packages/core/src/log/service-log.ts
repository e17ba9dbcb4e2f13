// Service logs: pino, JSON lines on stdout (or a file), one logger per process with the
// service name and host bound so records from every tier can be merged and filtered.
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

export interface ServiceLogOptions {
  service: string;
  host?: string;
  level?: string;
  /** File to append to; stdout when absent. */
  file?: string;
  /** Any writable stream (tests). */
  stream?: DestinationStream;
}

export function createLogger(opts: ServiceLogOptions): Logger {
  const base = { service: opts.service, host: opts.host, pid: process.pid };
  const options = {
    level: opts.level ?? 'info',
    base,
    timestamp: pino.stdTimeFunctions.isoTime,
    // Never let a secret reach the log, whatever object a caller passes.
    redact: { paths: ['password', '*.password', 'bindPassword', '*.bindPassword', 'adminPassword', '*.adminPassword'], censor: '[redacted]' },
  };
  if (opts.stream) return pino(options, opts.stream);
  if (opts.file) return pino(options, pino.destination({ dest: opts.file, mkdir: true, sync: false }));
  return pino(options);
}
