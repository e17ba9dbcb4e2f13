// Building blocks shared by the schemas of every tier.
import { z } from 'zod';

export const port = z.number().int().min(0).max(65535);
export const hostName = z
  .string()
  .regex(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/, 'expected a host name (letters, digits, dots, hyphens)');
export const duration = z.number().int().min(0);

/** node:cluster worker count of a service; 0 means one per CPU core. */
export const workerCount = (what: string) =>
  z.number().int().min(0).max(64).default(0).describe(`${what} worker processes (node:cluster); 0 means one per CPU core`);

export const listenSchema = z
  .strictObject({
    host: z.string().default('127.0.0.1').describe('address to bind (0.0.0.0 or :: for all)'),
    port: port.describe('TCP port; 0 picks a free one (tests)'),
  })
  .describe('a listening socket');

export const networkRule = z
  .string()
  .regex(
    /^([0-9.]+|[0-9a-fA-F:.]+)(\/\d{1,3})?$/,
    'expected an IP address or a CIDR network such as 10.0.0.0/8 or 2001:db8::/32',
  );
