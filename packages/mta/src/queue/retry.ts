// Retry timing, pure: the n-th retry of a recipient waits retrySeconds[n-1], and the last
// delay repeats. The schedule is counted from the recipient's attempts in the spool, not from
// bullmq's attempt counter, so a job recreated by a resync keeps its place in the schedule.
export function retryDelayMs(retrySeconds: readonly number[], attempts: number): number {
  if (retrySeconds.length === 0) return 60_000;
  const i = Math.min(Math.max(attempts, 1), retrySeconds.length) - 1;
  return Math.round((retrySeconds[i] ?? 60) * 1000);
}
