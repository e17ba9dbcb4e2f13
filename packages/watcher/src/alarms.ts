// Where alarms go: the watcher's log and status page always; a webhook when configured (JSON
// POST, not depending on mail); and a mail to the postmaster through a relay, at most one per
// service and kind of alarm per alarmMailIntervalMs so a flapping service does not flood the
// postmaster. Delivery failures are logged and never stop the watcher.
import nodemailer from 'nodemailer';
import type { Config, Logger } from '@tiermail/core';
import type { Alarm } from './supervisor.js';

export class AlarmSink {
  readonly recent: Alarm[] = [];
  private readonly mailed = new Map<string, number>();
  paused = false;

  constructor(
    private readonly config: Config,
    private readonly host: string,
    private readonly logger: Logger,
    /** Counts it for /metrics. */
    private readonly counted: (a: Alarm) => void = () => undefined,
  ) {}

  /** The SMTP listener mail goes to: this host's relay, else the first relay host's. */
  private relay(): { host: string; port: number } | null {
    const roles = this.config.hosts[this.host]?.roles ?? [];
    if (roles.includes('relay')) return { host: this.config.relay.smtp.host, port: this.config.relay.smtp.port };
    const other = Object.values(this.config.hosts).find((h) => h.roles.includes('relay'));
    return other ? { host: other.address, port: this.config.relay.smtp.port } : null;
  }

  raise(a: Omit<Alarm, 'at'>): void {
    const alarm: Alarm = { ...a, at: new Date().toISOString() };
    this.recent.push(alarm);
    if (this.recent.length > 200) this.recent.shift();
    this.logger.warn(alarm, 'watcher alarm');
    this.counted(alarm);
    if (this.paused) return; // maintenance: shown on the page, not sent
    const w = this.config.watcher;
    if (w.webhook) {
      fetch(w.webhook, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ host: this.host, ...alarm }) }).catch((err: unknown) =>
        this.logger.error({ err }, 'watcher: alarm webhook failed'),
      );
    }
    if (w.alarmMail) void this.mail(alarm);
  }

  private async mail(alarm: Alarm): Promise<void> {
    const key = `${alarm.service}:${alarm.kind}`;
    const now = Date.now();
    if ((this.mailed.get(key) ?? 0) > now - this.config.watcher.alarmMailIntervalMs) return;
    const relay = this.relay();
    if (!relay) return;
    this.mailed.set(key, now);
    const to = this.config.deployment.postmaster;
    const transport = nodemailer.createTransport({ host: relay.host, port: relay.port, secure: false, ignoreTLS: true, name: this.host });
    try {
      await transport.sendMail({
        from: `tiermail watcher <${to}>`,
        to,
        subject: `[tiermail ${this.config.deployment.name}] ${alarm.service} ${alarm.kind} on ${this.host}`,
        text: `${alarm.at} ${alarm.service} on ${this.host}: ${alarm.text}\n\nStatus page: http://${this.config.watcher.listen.host}:${this.config.watcher.listen.port}/\n`,
        headers: { 'Auto-Submitted': 'auto-generated' },
      });
    } catch (err) {
      // The relay may be what is down: the log, the page and the webhook still have it.
      this.mailed.delete(key);
      this.logger.error({ err: (err as Error).message, alarm: key }, 'watcher: alarm mail not sent');
    } finally {
      transport.close();
    }
  }
}
