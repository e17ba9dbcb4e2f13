// Thrown by a job when some of its recipients got a temporary failure: bullmq then retries the
// job after `delayMs` (the custom backoff in controller.ts reads it), and the recipients that
// were delivered or failed for good are not tried again because the spool says so.
export class RetryLater extends Error {
  override readonly name = 'RetryLater';
  constructor(
    readonly delayMs: number,
    message: string,
  ) {
    super(message);
  }
}
