#!/usr/bin/env node
'use strict';
// The one test entry point: runs every mocha spec (test/**/*.test.ts) through ts-node
// in transpile-only mode (type checking is `npm run typecheck`, run before this), then
// prints the line CI reads, "N passed, N failed", and exits non-zero on any failure.
// `--bench [WORD...]` runs the benchmarks in test/bench/ instead (npm run bench), or those
// whose file name contains one of the words.
// Extra arguments are spec files or --grep PATTERN, for running a subset by hand.
const path = require('path');
const fs = require('fs');

process.env.TS_NODE_TRANSPILE_ONLY = 'true';
process.env.TS_NODE_PROJECT = path.join(__dirname, '..', 'tsconfig.json');
require('ts-node/register/transpile-only');

const root = path.join(__dirname, '..');

function findFiles(dir, suffix, out) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'bench') findFiles(full, suffix, out);
    } else if (entry.name.endsWith(suffix)) {
      out.push(full);
    }
  }
  return out;
}

/** `npm run bench -- bridge sim` runs only the benchmarks whose file name contains one of the words. */
async function runBenchmarks(only) {
  const dir = path.join(__dirname, 'bench');
  const files = fs.existsSync(dir)
    ? fs.readdirSync(dir).filter((f) => f.endsWith('.bench.ts') && (only.length === 0 || only.some((w) => f.includes(w)))).sort()
    : [];
  if (files.length === 0) {
    console.log(only.length ? `no benchmark in test/bench/ matches ${only.join(', ')}` : 'no benchmarks yet in test/bench/');
    return;
  }
  const rows = [];
  let failures = 0;
  for (const f of files) {
    console.log(`\n== ${f}`);
    const mod = require(path.join(dir, f));
    if (typeof mod.run !== 'function') continue;
    try {
      const out = await mod.run();
      if (Array.isArray(out)) rows.push(...out);
    } catch (err) {
      // One broken benchmark must not hide the others' figures.
      failures++;
      console.error(`${f} failed: ${err && err.stack ? err.stack : err}`);
      rows.push({ what: f, value: `FAILED: ${String(err && err.message ? err.message : err).split('\n')[0]}`, goal: '', met: false });
    }
  }
  const cell = (s) => String(s).replace(/\|/g, '\\|');
  console.log('\n== summary (every benchmark, this run, this machine)');
  console.log('| benchmark | measured | goal | met |');
  console.log('|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${cell(r.what)} | ${cell(r.value)} | ${cell(r.goal || '—')} | ${r.met === null || r.met === undefined ? '—' : r.met ? 'yes' : 'NO'} |`);
  }
  if (failures > 0) process.exitCode = 1;
}

function runTests(args) {
  const Mocha = require('mocha');
  let grep;
  const named = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--grep') grep = args[++i];
    else named.push(args[i]);
  }
  const files = named.length > 0 ? named.map((f) => path.resolve(f)) : findFiles(path.join(root, 'test'), '.test.ts', []).sort();
  const mocha = new Mocha({ reporter: 'spec', timeout: 20000, grep });
  for (const f of files) mocha.addFile(f);
  let passed = 0;
  let failed = 0;
  const runner = mocha.run(() => {
    console.log(`${passed} passed, ${failed} failed`);
    process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
  });
  runner.on('pass', () => { passed++; });
  runner.on('fail', () => { failed++; });
}

const args = process.argv.slice(2);
if (args[0] === '--bench') {
  runBenchmarks(args.slice(1)).catch((err) => { console.error(err); process.exitCode = 1; });
} else {
  runTests(args);
}
