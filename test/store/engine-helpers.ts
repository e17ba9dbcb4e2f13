// Shared set-up for the storage engine tests: real directories under the OS temp dir.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeSchema, type StoreConfig } from '@tiermail/core';
import { MessageStore, type MessageStoreOptions } from '@tiermail/store/engine/index';

export function tempRoot(prefix = 'tm-engine-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function storeConfig(root: string, extra: Record<string, unknown> = {}): StoreConfig {
  return storeSchema.parse({ partitions: { primary: { path: join(root, 'primary') } }, ...extra });
}

/** A clock the test moves by hand. */
export class Clock {
  constructor(public ms = Date.UTC(2025, 0, 15, 12, 0, 0)) {}
  now = (): number => this.ms;
  advanceHours(h: number): void {
    this.ms += h * 3_600_000;
  }
}

export function openStore(cfg: StoreConfig, opts: MessageStoreOptions = {}): MessageStore {
  return MessageStore.open(cfg, opts);
}

export function message(subject: string, bodyBytes = 0): Buffer {
  return Buffer.from(`From: a@example.test\r\nSubject: ${subject}\r\n\r\n${'x'.repeat(bodyBytes)}\r\n`);
}
