// The relay (MTA) tier: public API for the CLI and tests.
export { startRelayService, type RelayRole, type RelayService, type RelayServiceOptions } from './service.js';
export { relaySettings, lmtpAddressOf, type RelaySettings, type LmtpAddress } from './settings.js';
export { Spool } from './spool/spool.js';
export { parseEnvelope, type Envelope } from './spool/envelope.js';
export { isSpoolId, newSpoolId } from './spool/ids.js';
export { queueName, jobId, type JobData } from './queue/names.js';
export { retryDelayMs } from './queue/retry.js';
export type { Channel, RecipientStatus, SpoolRecipient } from './queue/recipient.js';
export { MessageScanner, type MessageScan, type MessageProblem } from './smtp/message-scan.js';
export { buildReceivedHeader } from './smtp/received.js';
export { replies, SmtpReply } from './smtp/replies.js';
export { NetworkList } from '@tiermail/core';
export { RelayMailLog } from './log/mail-events.js';
export { DsnNotifier } from './dsn/notifier.js';
export { settleAndFinish } from './delivery/apply.js';
export { JobQueues } from './queue/job-queues.js';
