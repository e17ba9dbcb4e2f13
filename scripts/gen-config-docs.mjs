#!/usr/bin/env node
// Writes docs/config.md from the zod schema (run after changing packages/core/src/config/schema.ts).
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderConfigDocs } from '../packages/core/dist/config/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
writeFileSync(join(root, 'docs', 'config.md'), renderConfigDocs());
process.stdout.write('docs/config.md written\n');
