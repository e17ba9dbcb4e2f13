// Where the repository is, seen from compiled tests in test/dist/...
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const cliMain = join(repoRoot, 'packages', 'cli', 'dist', 'main.js');
