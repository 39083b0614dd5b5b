/**
 * npm run build:firmware → firmware/dist/firmware.js: one minified ES5 file for Espruino.
 *
 * 1. tsc compiles firmware/src (and the hardware/ it imports) to ES5 with ES modules, so
 *    the bundler can drop what the firmware does not use.
 * 2. esbuild bundles and minifies it into one IIFE, with the board constants computed
 *    from hardware/ (firmwareBoard) written in as the module board-data.js, and the
 *    reading writer generated from the protocol's field table (readingWriterSource)
 *    written over reading-writer.js, so the table itself never ships.
 * 3. The result is checked: it must parse as ECMAScript 5 (acorn), use no global that a
 *    2v2x Espruino may lack (Map, Set, Promise, Number.isFinite…), no bare require()
 *    (bundlers turn it into a Node shim), and fit the 12 KB budget.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as acorn from 'acorn';
import * as esbuild from 'esbuild';
import { firmwareBoard } from '../firmware/src/board';
import { readingWriterSource } from '../firmware/src/reading-writer';
import { READING_FIELDS } from '../protocol/fields';

export const BUDGET_BYTES = 12 * 1024;
const root = path.join(__dirname, '..');
export const BUNDLE_PATH = path.join(root, 'firmware', 'dist', 'firmware.js');

/**
 * Property names private to the bundle, shortened by the minifier (about a third of
 * the bundle is property names). Only names never reached by a string may be listed:
 * not Espruino API members (setup, write, read…), not wire or stored-record keys
 * (bon, period, bahi…, which the code indexes by string), not JS built-ins, and not
 * names tested with `in` ('err').
 */
const MANGLED_PROPERTIES = [
  'adc', 'address', 'args', 'autoRange', 'battery', 'batteryAt', 'batteryFloorV', 'batteryLow', 'batteryOffV',
  'batteryOnV', 'batteryV', 'boot', 'buf', 'bufferedLength', 'busAdc', 'busRangeV', 'busV', 'calibration',
  'changedAt', 'chargerOn', 'cmd', 'commErrors', 'configure', 'configured', 'configWord', 'crc', 'currentA',
  'currentLsbA', 'defaults', 'energy', 'error', 'flags', 'floorV', 'force', 'forceUntil', 'gain', 'i2c', 'id',
  'load', 'maxCurrentA', 'maxLength', 'minDwellS', 'mode', 'msg', 'name', 'now', 'offLevel', 'onLevel', 'onLine',
  'onOverflow', 'overflow', 'overflows', 'pgaIndex', 'pgaMillivolts', 'pin', 'poll', 'powerLsbW', 'powerW',
  'rangeUps', 'readRegister', 'reads', 'readSolarV', 'reason', 'releaseConsole', 'remote', 'reportError', 'resets',
  'samples', 'save', 'saveEveryS', 'schedule', 'seenValid', 'setCharger', 'settings', 'shuntAdc', 'shuntOhms',
  'shuntV', 'skipping', 'solar', 'solarAt', 'solarV', 'stale', 'staleAfterS', 'start', 'state', 'stats', 'sunDown',
  'sunDownV', 'sunUpV', 'transport', 'valid', 'version', 'vref', 'watchdogS', 'writeRegister', 'writeSetup',
];

/** Globals and members that ES5-era Espruino builds may not have, or that only Node has. */
const FORBIDDEN_GLOBALS = ['Map', 'Set', 'WeakMap', 'WeakSet', 'Promise', 'Symbol', 'Proxy', 'Reflect', 'globalThis',
  'Buffer', 'module', 'exports', '__dirname', 'setImmediate', 'queueMicrotask'];
const FORBIDDEN_MEMBERS = ['Number.isFinite', 'Number.isInteger', 'Number.isNaN', 'Object.assign', 'Object.entries',
  'Object.values', 'Array.from', 'Array.of', 'Math.trunc', 'Math.sign', 'Math.imul'];

interface Node { type: string; [key: string]: unknown }

function walk(node: unknown, visit: (n: Node, parent: Node | null) => void, parent: Node | null = null): void {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const child of node) walk(child, visit, parent);
    return;
  }
  const n = node as Node;
  if (typeof n.type !== 'string') return;
  visit(n, parent);
  for (const key of Object.keys(n)) {
    if (key !== 'type' && key !== 'start' && key !== 'end') walk(n[key], visit, n);
  }
}

/** Problems that would stop the bundle on a real Espruino; empty when it is fine. */
export function checkBundle(code: string): string[] {
  const problems: string[] = [];
  let ast: acorn.Node;
  try {
    ast = acorn.parse(code, { ecmaVersion: 5, sourceType: 'script' });
  } catch (e) {
    return [`not ECMAScript 5: ${(e as Error).message}`];
  }
  const declared = new Set<string>();
  walk(ast, (n) => {
    if (n.type === 'VariableDeclarator' || n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression') {
      const id = n.id as Node | null;
      if (id && typeof id.name === 'string') declared.add(id.name);
    }
    if (n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression') {
      for (const p of n.params as Node[]) if (typeof p.name === 'string') declared.add(p.name);
    }
    if (n.type === 'CatchClause' && n.param) declared.add((n.param as Node).name as string);
  });
  walk(ast, (n, parent) => {
    if (n.type === 'Identifier' && FORBIDDEN_GLOBALS.includes(n.name as string) && !declared.has(n.name as string)) {
      const isKey = parent && ((parent.type === 'MemberExpression' && parent.property === n && !parent.computed) ||
        (parent.type === 'Property' && parent.key === n));
      if (!isKey) problems.push(`uses ${n.name as string}, which Espruino may not have`);
    }
    if (n.type === 'MemberExpression' && !n.computed) {
      const obj = n.object as Node;
      const prop = n.property as Node;
      const name = `${obj.name as string}.${prop.name as string}`;
      if (obj.type === 'Identifier' && FORBIDDEN_MEMBERS.includes(name) && !declared.has(obj.name as string)) {
        problems.push(`uses ${name}, which Espruino may not have`);
      }
    }
    if (n.type === 'CallExpression' && (n.callee as Node).type === 'Identifier' && (n.callee as Node).name === 'require') {
      problems.push('calls require() directly: reach Storage as global["require"]("Storage") instead');
    }
  });
  return [...new Set(problems)];
}

export async function buildFirmware(): Promise<{ bytes: number; path: string }> {
  const version: string = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'fw-build-'));
  try {
    const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'firmware', 'tsconfig.json'),
      '--noEmit', 'false', '--outDir', out, '--module', 'es2015', '--target', 'ES5', '--removeComments', 'false'], { encoding: 'utf8' });
    if (tsc.status !== 0) throw new Error(`tsc failed:\n${tsc.stdout}${tsc.stderr}`);
    // TypeScript marks its ES5 class wrappers /** @class */; esbuild only drops unused
    // top-level calls marked pure, so say so and let unused classes fall away.
    for (const file of listJs(out)) {
      const js = fs.readFileSync(file, 'utf8');
      fs.writeFileSync(file, js.split('/** @class */ (function').join('/* @__PURE__ */ (function'));
    }
    fs.writeFileSync(path.join(out, 'firmware', 'src', 'board-data.js'),
      `export var BOARD = ${jsLiteral(firmwareBoard(version))};\n`);
    fs.writeFileSync(path.join(out, 'firmware', 'src', 'reading-writer.js'), readingWriterSource(READING_FIELDS));
    const result = await esbuild.build({
      entryPoints: [path.join(out, 'firmware', 'src', 'main.js')],
      bundle: true,
      format: 'iife',
      minify: true,
      target: 'es5',
      write: false,
      legalComments: 'none',
      footer: { js: 'onInit();' },
      logLevel: 'silent',
      metafile: true,
      mangleProps: new RegExp(`^(${MANGLED_PROPERTIES.join('|')})$`),
    });
    const code = result.outputFiles[0].text;
    if (process.env.FIRMWARE_SIZES) {
      for (const [file, info] of Object.entries(Object.values(result.metafile!.outputs)[0].inputs)) console.log(`${info.bytesInOutput}\t${path.basename(file)}`);
    }
    const problems = checkBundle(code);
    if (problems.length > 0) throw new Error(`firmware bundle rejected:\n  ${problems.join('\n  ')}`);
    fs.mkdirSync(path.dirname(BUNDLE_PATH), { recursive: true });
    fs.writeFileSync(BUNDLE_PATH, code);
    const bytes = Buffer.byteLength(code);
    if (bytes > BUDGET_BYTES && !process.env.FIRMWARE_NO_BUDGET) throw new Error(`firmware bundle is ${bytes} bytes, over the ${BUDGET_BYTES}-byte budget`);
    return { bytes, path: BUNDLE_PATH };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** A JS object literal with bare keys: the minifier only shortens unquoted property names. */
function jsLiteral(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(jsLiteral).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v).map(([k, x]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}:${jsLiteral(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

function listJs(dir: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...listJs(full));
    else if (entry.name.endsWith('.js')) found.push(full);
  }
  return found;
}

if (process.argv[1] === __filename) {
  buildFirmware().then(
    ({ bytes, path: p }) => console.log(`${path.relative(root, p)}: ${bytes} bytes (budget ${BUDGET_BYTES}, ${(100 * bytes / BUDGET_BYTES).toFixed(0)} %)`),
    (e: Error) => { console.error(e.message); process.exit(1); },
  );
}
