/**
 * The JavaScript world the bundle runs in: a fresh `vm` context per boot holding only
 * the built-ins Espruino 2v2x has, with Math.random seeded and Date on the virtual
 * clock, and traps that make any other global, or any member an API object lacks, fail
 * loudly. Also the byte and text conversions Espruino applies wherever bytes go.
 */
import vm from 'node:vm';
import * as acorn from 'acorn';
import { deriveSeed, seededRandom } from './random';

/** Builtins Espruino 2v2x has; the bundle sees these from its own realm and no others. */
const ESPRUINO_BUILTINS = [
  'Object', 'Function', 'Array', 'Number', 'Boolean', 'String', 'Date', 'RegExp', 'JSON', 'Math',
  'Error', 'TypeError', 'RangeError', 'ReferenceError', 'SyntaxError', 'EvalError', 'URIError',
  'ArrayBuffer', 'DataView', 'Uint8Array', 'Int8Array', 'Uint8ClampedArray', 'Uint16Array', 'Int16Array',
  'Uint32Array', 'Int32Array', 'Float32Array', 'Float64Array',
  'parseInt', 'parseFloat', 'isNaN', 'isFinite', 'encodeURIComponent', 'decodeURIComponent', 'eval',
  'NaN', 'Infinity', 'undefined',
];

/** Globals a bundle might reach for out of Node or modern-JS habit; Espruino has none of them. */
const NOT_ON_ESPRUINO = new Set([
  'Map', 'Set', 'WeakMap', 'WeakSet', 'Symbol', 'Proxy', 'Reflect', 'BigInt', 'Intl', 'globalThis',
  'WeakRef', 'FinalizationRegistry', 'SharedArrayBuffer', 'Atomics', 'WebAssembly', 'AggregateError',
  'Buffer', 'module', 'exports', '__dirname', '__filename', 'setImmediate', 'clearImmediate', 'queueMicrotask',
  'structuredClone', 'TextEncoder', 'TextDecoder', 'URL', 'fetch', 'performance',
]);

export type Sandbox = Record<string, unknown>;

/** Called for an API the shim lacks: records it and throws. */
export type UnimplementedApi = (api: string, hint?: string) => never;

export interface Realm {
  sandbox: Sandbox;
  context: vm.Context;
  /** The realm's own Error and Uint8Array, so what the bundle catches or receives is of its world. */
  ErrorCtor: ErrorConstructor;
  Uint8ArrayCtor: Uint8ArrayConstructor;
}

/**
 * A new context for one boot. Nothing in the bundle may depend on the host: Math.random
 * draws from the run's seed (one stream per boot), and Date follows the virtual clock
 * as Espruino's follows getTime() (Date.now() = getTime() × 1000).
 */
export function createRealm(seed: number, bootCount: number, nowMs: () => number): Realm {
  const sandbox: Sandbox = {};
  const context = vm.createContext(sandbox, { name: 'espruino', codeGeneration: { strings: true, wasm: false } });
  const builtins = vm.runInContext('({' + ESPRUINO_BUILTINS.map((n) => JSON.stringify(n) + ':' + n).join(',') + '})', context) as Sandbox;
  for (const name of ESPRUINO_BUILTINS) sandbox[name] = builtins[name];
  (builtins.Math as { random: () => number }).random = seededRandom(deriveSeed(seed, 'mcu-random-' + bootCount));
  sandbox.Date = (vm.runInContext(
    '(function (now) { return class Date extends this.Date { constructor(...a) { if (a.length === 0) super(now()); else super(...a); } static now() { return now(); } }; })',
    context) as (now: () => number) => unknown).call(builtins, nowMs);
  sandbox.InternalError = vm.runInContext(
    '(function () { function InternalError(m) { var e = new Error(m); e.name = "InternalError"; return e; } return InternalError; })()', context);
  sandbox.global = vm.runInContext('this', context);
  return { sandbox, context, ErrorCtor: builtins.Error as ErrorConstructor, Uint8ArrayCtor: builtins.Uint8Array as Uint8ArrayConstructor };
}

/**
 * The sandbox's prototype: reading a global nobody defined is an unimplemented API (with
 * a hint for Node and ES2015+ habits); assigning one defines it, as sloppy mode would.
 */
export function unknownGlobalTrap(unimplemented: UnimplementedApi): object {
  const record = (name: string): never => unimplemented(name,
    NOT_ON_ESPRUINO.has(name) ? ` (${name} is a Node.js or ES2015+ global that Espruino does not have)` : '');
  return new Proxy(Object.create(null), {
    get: (_target, key) => (typeof key === 'symbol' ? undefined : record(key)),
    // Assignments to new globals (global.onInit = …, sloppy-mode implicit globals) land on the sandbox.
    set: (_target, key, value, receiver) => {
      Object.defineProperty(receiver, key, { value, writable: true, enumerable: true, configurable: true });
      return true;
    },
    has: () => false,
  });
}

/** Wraps an API object so that any member the shim lacks, or any assignment, fails loudly. */
export function strictApiObject<T extends object>(name: string, members: T, unimplemented: UnimplementedApi): T {
  const target = Object.assign(Object.create(null), members) as T;
  return new Proxy(target, {
    get: (t, key) => {
      if (typeof key === 'symbol') return undefined;
      if (Object.prototype.hasOwnProperty.call(t, key)) return (t as Record<string, unknown>)[key];
      return unimplemented(`${name}.${key}`);
    },
    set: (_t, key) => unimplemented(`${name}.${String(key)} (assignment)`),
  });
}

/** Top-level `var` and function names of a script: they must exist on the sandbox before it runs. */
export function topLevelNames(code: string): string[] {
  const ast = acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'script', allowHashBang: true }) as unknown as {
    body: Array<{ type: string; id?: { name: string }; kind?: string; declarations?: Array<{ id: { type: string; name?: string } }> }>;
  };
  const names: string[] = [];
  for (const node of ast.body) {
    if (node.type === 'FunctionDeclaration' && node.id) names.push(node.id.name);
    if (node.type === 'VariableDeclaration' && node.kind === 'var' && node.declarations) {
      for (const d of node.declarations) if (d.id.type === 'Identifier' && d.id.name) names.push(d.id.name);
    }
  }
  return names;
}

/** "Name: message" of a thrown value from either realm, as Espruino prints it. */
export function describeError(e: unknown): string {
  if (e && typeof e === 'object' && 'message' in e) {
    const name = 'name' in e ? String((e as { name: unknown }).name) : 'Error';
    return name + ': ' + String((e as { message: unknown }).message);
  }
  return String(e);
}

/** Espruino accepts numbers, strings, arrays and typed arrays wherever bytes go. */
export function flattenBytes(items: unknown[]): number[] {
  const out: number[] = [];
  const add = (x: unknown): void => {
    if (typeof x === 'number') out.push(x & 0xff);
    else if (typeof x === 'string') for (let i = 0; i < x.length; i++) out.push(x.charCodeAt(i) & 0xff);
    else if (x && typeof x === 'object' && typeof (x as ArrayLike<unknown>).length === 'number') {
      const a = x as ArrayLike<unknown>;
      for (let i = 0; i < a.length; i++) add(a[i]);
    } else throw new TypeError('cannot send ' + String(x) + ' as bytes');
  };
  for (const item of items) add(item);
  return out;
}

export function bytesToString(data: unknown): string {
  if (typeof data === 'string') return data;
  return String.fromCharCode(...flattenBytes([data]));
}

/** One console.log argument as Espruino prints it: strings bare, objects as JSON. */
export function consoleText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined) return 'undefined';
  if (typeof v === 'object' && v !== null) {
    try {
      return JSON.stringify(v);
    } catch {
      return String(v);
    }
  }
  return String(v);
}
