#!/usr/bin/env node
'use strict';
// Runs a TypeScript entry point (npm scripts use this): ts-node in transpile-only mode,
// because `npm run typecheck` is where types are checked. Usage: ts-run.js FILE.ts [args…]
const path = require('path');
const file = process.argv[2];
if (!file) {
  console.error('usage: node scripts/ts-run.js FILE.ts [args...]');
  process.exit(2);
}
require('ts-node').register({ transpileOnly: true, project: path.join(__dirname, '..', 'tsconfig.json') });
process.argv.splice(1, 2, path.resolve(file));
require(path.resolve(file));
