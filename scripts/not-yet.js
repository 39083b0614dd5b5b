#!/usr/bin/env node
'use strict';
// Placeholder for an npm script whose part of the system is not built yet: says so
// plainly and fails, rather than pretending to work.
const [, , script, owner] = process.argv;
console.error(`npm run ${script}: not built yet; it comes with ${owner}. See README.md.`);
process.exit(2);
