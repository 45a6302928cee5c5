#!/usr/bin/env node
// In a checkout (after `npm ci`) run the TypeScript source through tsx; in a built image, dist/.
const { existsSync } = require('node:fs');
const path = require('node:path');

const src = path.join(__dirname, '..', 'src', 'starters', 'cli.ts');
const dist = path.join(__dirname, '..', 'dist', 'starters', 'cli.js');
let cli;
if (existsSync(src)) {
  require('tsx/cjs');
  cli = require(src);
} else {
  cli = require(dist);
}
cli
  .run(process.argv.slice(2), {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    env: process.env,
  })
  .then((code) => process.exit(code));
