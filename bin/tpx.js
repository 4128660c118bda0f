#!/usr/bin/env node
// Thin launcher: everything lives in the compiled CLI (npm run build).
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`tpx: unexpected failure: ${err && err.message ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
