import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as acorn from 'acorn';
import { BUDGET_BYTES, BUNDLE_PATH, buildFirmware, checkBundle } from '../../scripts/build-firmware';
import { firmwareBoard } from '../../firmware/src/board';
import { BATTERY_FLOOR_V, DEFAULT_THRESHOLDS } from '../../hardware';

const root = path.join(__dirname, '..', '..');

describe('firmware build', () => {
  describe('checkBundle on crafted code', () => {
    it('accepts plain ES5', () => {
      assert.deepEqual(checkBundle(''), []);
      assert.deepEqual(checkBundle('var a = [1, 2]; function f(x) { return x * 2; } a.map(f); JSON.stringify({a: a});'), []);
      assert.deepEqual(checkBundle('var s = global["require"]("Storage"); E.enableWatchdog(10); setInterval(function () {}, 1000);'), []);
    });

    const es6: [string, string][] = [
      ['let', 'let x = 1;'],
      ['const', 'const y = 2;'],
      ['an arrow function', 'var f = (a) => a + 1;'],
      ['a class', 'class A { m() { return 1; } }'],
      ['a template literal', 'var t = `x${1}`;'],
      ['for-of', 'for (var v of [1, 2]) {}'],
      ['destructuring', 'var {a} = {a: 1};'],
      ['spread', 'f(...[1, 2]);'],
      ['a generator', 'function* g() { yield 1; }'],
      ['async/await', 'async function h() { await 1; }'],
      ['a shorthand method', 'var o = { m() {} };'],
      ['a default parameter', 'function d(a = 1) { return a; }'],
    ];
    for (const [name, code] of es6) {
      it(`rejects ${name} as not ES5: ${code}`, () => {
        const problems = checkBundle(code);
        assert.equal(problems.length, 1, JSON.stringify(problems));
        assert.match(problems[0], /^not ECMAScript 5/);
      });
    }

    const forbidden: [string, string][] = [
      ['new Map()', 'Map'],
      ['var s = new Set([1]);', 'Set'],
      ['new WeakMap();', 'WeakMap'],
      ['Promise.resolve();', 'Promise'],
      ['var y = Symbol("k");', 'Symbol'],
      ['Number.isFinite(x);', 'Number.isFinite'],
      ['if (Number.isNaN(x)) {}', 'Number.isNaN'],
      ['Object.assign({}, a);', 'Object.assign'],
      ['Object.entries(o);', 'Object.entries'],
      ['Array.from(a);', 'Array.from'],
      ['Math.trunc(1.5);', 'Math.trunc'],
      ["require('fs');", 'require()'],
      ["Buffer.from('x');", 'Buffer'],
      ['globalThis.x = 1;', 'globalThis'],
      ['module.exports = {};', 'module'],
      ['var d = __dirname;', '__dirname'],
      ['setImmediate(function () {});', 'setImmediate'],
      ['queueMicrotask(function () {});', 'queueMicrotask'],
      ['var m = new Proxy({}, {});', 'Proxy'],
      ['Reflect.ownKeys({});', 'Reflect'],
      // Reached through another name, a value or inside a function: still the global.
      ['var M = Map; new M();', 'Map'],
      ['function f() { return new Set(); }', 'Set'],
      ['var p = [Promise];', 'Promise'],
    ];
    for (const [code, name] of forbidden) {
      it(`catches ${name} in: ${code}`, () => {
        const problems = checkBundle(code);
        assert.equal(problems.length, 1, JSON.stringify(problems));
        assert.ok(problems[0].indexOf(name) >= 0, problems[0]);
      });
    }

    it('reports each problem once and all of them', () => {
      const problems = checkBundle('new Map(); new Map(); Number.isFinite(1); Number.isFinite(2); require("fs");');
      assert.equal(problems.length, 3, JSON.stringify(problems));
    });

    const allowed: [string, string][] = [
      ['a property key and member', 'var o = {Map: 1, Set: 2, Promise: 3}; o.Map + o.Set + o.Promise;'],
      ['a parameter', 'function f(Set) { return Set; }'],
      ['a local variable', 'function g() { var Promise = 1; return Promise; }'],
      ['a declared function', 'function Buffer() {} Buffer();'],
      ['a catch parameter', 'try { x(); } catch (Map) { Map.message; }'],
      ['a member of another object', 'var o = {}; o.Buffer = 1; o.globalThis = 2; a.Number.isFinite(1);'],
      ['a locally declared Number', 'var Number = {isFinite: function () { return true; }}; Number.isFinite(1);'],
      ['a string', 'var s = "Map Set Promise require(\'fs\') Buffer";'],
      ['a computed string key', 'var o = {}; o["Map"] = 1;'],
      ['Espruino\'s require through global', 'var st = global["require"]("Storage"); st.read("x");'],
      ['ES5 globals Espruino has', 'isFinite(1); isNaN(2); parseFloat("1"); Math.round(1.5); Object.keys({}); JSON.parse("1");'],
    ];
    for (const [name, code] of allowed) {
      it(`allows ${name}: ${code}`, () => {
        assert.deepEqual(checkBundle(code), []);
      });
    }
  });

  describe('the firmware bundle', function () {
    // One build for the checks below: tsc + esbuild take a few seconds.
    this.timeout(60000);
    let result: { bytes: number; path: string };
    let code = '';
    const printed: string[] = [];

    before(async () => {
      const saved = { log: console.log, warn: console.warn, error: console.error, info: console.info };
      const capture = (...args: unknown[]): void => { printed.push(args.map(String).join(' ')); };
      console.log = capture;
      console.warn = capture;
      console.error = capture;
      console.info = capture;
      try {
        result = await buildFirmware();
      } finally {
        Object.assign(console, saved);
      }
      code = fs.readFileSync(BUNDLE_PATH, 'utf8');
    });

    it('is written to firmware/dist/firmware.js without printing anything', () => {
      assert.equal(result.path, path.join(root, 'firmware', 'dist', 'firmware.js'));
      assert.equal(BUNDLE_PATH, result.path);
      assert.deepEqual(printed, []);
    });

    it(`fits the ${BUDGET_BYTES}-byte budget, and the size reported is the file's`, () => {
      assert.equal(BUDGET_BYTES, 12 * 1024);
      assert.equal(result.bytes, Buffer.byteLength(code));
      assert.equal(result.bytes, fs.statSync(BUNDLE_PATH).size);
      assert.ok(result.bytes > 1000, `suspiciously small: ${result.bytes} bytes`);
      assert.ok(result.bytes <= BUDGET_BYTES, `${result.bytes} bytes over ${BUDGET_BYTES}`);
    });

    it('is one minified script that passes checkBundle and parses as ES5', () => {
      assert.deepEqual(checkBundle(code), []);
      // Independently of checkBundle, with acorn directly.
      assert.doesNotThrow(() => acorn.parse(code, { ecmaVersion: 5, sourceType: 'script' }));
      assert.match(code, /^\(function\(\)\{/);
      assert.doesNotMatch(code, /\bimport\b|\bexport\b/);
    });

    it('contains no Node API names', () => {
      const node: [string, RegExp][] = [
        ['bare require()', /(^|[^.\w$"'])require\s*\(/],
        ['a Node module name', /["'](fs|path|os|child_process|net|tty|util|events|stream|node:[a-z_]+)["']/],
        ['Buffer', /\bBuffer\b/],
        ['__dirname/__filename', /__dirname|__filename/],
        ['module.exports / exports.', /\bmodule\.exports\b|\bexports\./],
        ['globalThis', /\bglobalThis\b/],
        ['setImmediate / queueMicrotask', /\bsetImmediate\b|\bqueueMicrotask\b/],
        ['Node-only process members', /\bprocess\.(argv|exit|stdout|stderr|stdin|hrtime|nextTick|cwd|platform|pid|versions)\b/],
        ['console', /\bconsole\./],
      ];
      for (const [name, re] of node) {
        const m = re.exec(code);
        assert.equal(m, null, `${name}: …${m ? code.slice(Math.max(0, m.index - 40), m.index + 40) : ''}…`);
      }
      // Storage is reached the Espruino way.
      assert.match(code, /global\.require\("Storage"\)|global\["require"\]\("Storage"\)/);
    });

    it('npm run build:firmware prints the size and the budget (and nothing else)', () => {
      const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'ts-run.js'), path.join(root, 'scripts', 'build-firmware.ts')],
        { cwd: root, encoding: 'utf8', timeout: 60000, env: { ...process.env, FIRMWARE_SIZES: '', FIRMWARE_NO_BUDGET: '' } });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '');
      const m = /^firmware\/dist\/firmware\.js: (\d+) bytes \(budget (\d+), (\d+) %\)\n$/.exec(r.stdout);
      assert.ok(m, JSON.stringify(r.stdout));
      const bytes = Number(m[1]);
      assert.equal(bytes, fs.statSync(BUNDLE_PATH).size);
      assert.equal(Number(m[2]), BUDGET_BYTES);
      assert.equal(Number(m[3]), Math.round(100 * bytes / BUDGET_BYTES));
    });

    it('carries the comparator board thresholds as firmwareBoard computes them', () => {
      const version: string = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
      const board = firmwareBoard(version);
      // By hand from DEFAULT_THRESHOLDS (the trip points rounded to the mV the wire carries).
      assert.deepEqual(board.defaults, {
        bon: Math.round(DEFAULT_THRESHOLDS.batteryOnV * 1000) / 1000,
        boff: Math.round(DEFAULT_THRESHOLDS.batteryOffV * 1000) / 1000,
        sdn: Math.round(DEFAULT_THRESHOLDS.sunDownV * 1000) / 1000,
        sup: Math.round(DEFAULT_THRESHOLDS.sunUpV * 1000) / 1000,
        dwell: 0,
        period: 1,
      });
      assert.equal(board.defaults.boff, 13.976);
      // The wire names are not shortened by the minifier, so they appear as key:value.
      // (esbuild writes 0.5 as .5; none of these values is below 1 except 0.)
      const literal = ['bon', 'boff', 'sdn', 'sup', 'dwell', 'period']
        .map((k) => `${k}:${String((board.defaults as unknown as { [k: string]: number })[k])}`).join(',');
      assert.ok(code.indexOf(literal) >= 0, `bundle lacks ${literal}`);
      assert.ok(code.indexOf('13.976') >= 0);
      assert.equal(board.floorV, BATTERY_FLOOR_V);
      assert.match(code, new RegExp(`:${String(BATTERY_FLOOR_V).replace('.', '\\.')}[,}]`), 'the battery floor');
      assert.ok(code.indexOf(`"${version}"`) >= 0, 'the firmware version');
      assert.ok(code.indexOf(String(board.battery.calibration.calibration)) >= 0, 'the battery INA219 calibration');
      assert.ok(code.indexOf(String(board.load.calibration.calibration)) >= 0, 'the load INA219 calibration');
    });
  });
});
