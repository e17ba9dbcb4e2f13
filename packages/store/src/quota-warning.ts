// The quota warning message: the engine says a warning is due (once per
// store.quota.warnIntervalHours); this composes it and stores it past the quota.
import { randomBytes } from 'node:crypto';
import type { MessageStore } from './engine/index.js';

export function quotaWarningMessage(user: string, from: string, usedBytes: number, limitBytes: number, hostname: string): Buffer {
  const percent = limitBytes > 0 ? Math.floor((usedBytes / limitBytes) * 100) : 100;
  const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`;
  const lines = [
    `From: Mail Administrator <${from}>`,
    `To: <${user}>`,
    `Subject: Your mailbox is ${percent}% full`,
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <quota.${Date.now()}.${randomBytes(6).toString('hex')}@${hostname}>`,
    'Auto-Submitted: auto-generated',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Your mailbox uses ${mb(usedBytes)} of its ${mb(limitBytes)} quota (${percent}%).`,
    'When it is full, new mail waits and is finally returned to its senders.',
    'Please delete or archive messages you no longer need.',
    '',
  ];
  return Buffer.from(`Return-Path: <>\r\n${lines.join('\r\n')}`, 'utf8');
}

export async function sendQuotaWarning(store: MessageStore, user: string, postmaster: string, hostname: string): Promise<void> {
  const mailbox = store.openUser(user);
  let q;
  try {
    q = mailbox.quota();
  } finally {
    mailbox.close();
  }
  await store.deliver({ data: quotaWarningMessage(user, postmaster, q.usedBytes, q.limitBytes, hostname) }, [{ user }], { bypassQuota: true });
}
