#!/usr/bin/env node
// The workbook's entry point (`npm run learn`, `npm run check`): brings dist/ up to date, then starts the CLI.
import { ensureBuilt } from '../scripts/build.mjs';

try {
  await ensureBuilt();
} catch (error) {
  console.error(`tracecraft: failed to build the CLI from src/: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
}
const { main } = await import('../dist/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
