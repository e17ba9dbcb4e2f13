// mail.log: one JSON line per recipient per event, with the action codes of the seeds'
// MTA log (E enqueued, D dequeued/delivered, Q temporary failure, R returned, J rejected at
// enqueue, K killed, S stored by LMTP, W delay notice, V aborted, P DSN requested, B bad command;
// and H, held by an operator, which tiermail adds).
// Relays and stores write it; `tiermail trace` reads it.
import { createWriteStream, mkdirSync, openSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';

export const mailLogActions = ['B', 'D', 'E', 'H', 'J', 'K', 'P', 'Q', 'R', 'S', 'V', 'W', 'Z'] as const;
/** Modifiers after the action code, as in the seeds: A SASL, E ESMTP, L LMTP, Q pipelining, S TLS. */
const codePattern = /^[BDEHJKPQRSVWZ][ABCELQS]*$/;

export const mailLogRecordSchema = z.strictObject({
  time: z.string(),
  host: z.string(),
  /** Source channel (where the message came from) and destination channel. */
  source: z.string(),
  dest: z.string(),
  code: z.string().regex(codePattern, 'expected an action code such as E, D, Q, R, J, K with optional modifiers'),
  size: z.number().int().min(0),
  from: z.string(),
  /** Original envelope recipient (ORCPT) and the recipient as currently routed. */
  orcpt: z.string(),
  to: z.string(),
  messageId: z.string().optional(),
  queueId: z.string().optional(),
  /** The remote answer or diagnostic, e.g. "250 2.1.5 Ok" or "452 4.2.2 over quota". */
  answer: z.string().optional(),
  remote: z.string().optional(),
});

export type MailLogRecord = z.infer<typeof mailLogRecordSchema>;
export type MailLogInput = Omit<MailLogRecord, 'time' | 'host'> & { time?: string };

export function parseMailLogLine(line: string): MailLogRecord | undefined {
  try {
    const r = mailLogRecordSchema.safeParse(JSON.parse(line));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

export class MailLog {
  private stream: WriteStream | undefined;
  private corked = false;

  constructor(
    readonly file: string,
    private readonly host: string,
  ) {
    this.open();
  }

  private open(): void {
    mkdirSync(dirname(this.file), { recursive: true });
    // Open synchronously so the file exists (and a bad path fails) at once, not on first write.
    const fd = openSync(this.file, 'a', 0o640);
    this.stream = createWriteStream('', { fd, flags: 'a' });
    this.stream.on('error', (err) => {
      // A full disk must not take the service down; the service log shows it.
      process.emitWarning(`mail.log write failed: ${err.message}`);
    });
  }

  write(input: MailLogInput): MailLogRecord {
    const record = mailLogRecordSchema.parse({ ...input, time: input.time ?? new Date().toISOString(), host: this.host });
    const s = this.stream;
    if (s) {
      // Lines written in one turn of the event loop go to the file in one write.
      if (!this.corked) {
        this.corked = true;
        s.cork();
        setImmediate(() => {
          this.corked = false;
          s.uncork();
        });
      }
      s.write(`${JSON.stringify(record)}\n`);
    }
    return record;
  }

  /** Reopen the file after logrotate moved it (call on SIGHUP). */
  async reopen(): Promise<void> {
    await this.close();
    this.open();
  }

  close(): Promise<void> {
    const s = this.stream;
    this.stream = undefined;
    if (!s) return Promise.resolve();
    return new Promise((resolve) => s.end(resolve));
  }
}
