/**
 * An Espruino MCU in a Node `vm` context, on virtual time: the built firmware bundle
 * runs in it unchanged, with the API of firmware/src/espruino.d.ts and nothing more.
 *
 * Behaviour follows Espruino 2v2x where the firmware could notice the difference:
 * - Boot: the bundle (boot code) runs from the top, then `E.on('init')` handlers, then
 *   `onInit()` if defined — on every boot, so start-up must be idempotent.
 * - Timers run on the virtual clock; an interval is rescheduled from its previous due
 *   time (no drift); `clearInterval()` clears all, `clearInterval(undefined)` throws.
 * - An exception escaping a callback goes to `process.on('uncaughtException')`, or is
 *   printed on the console ("Uncaught …"); the event loop carries on.
 * - `digitalWrite` makes a pin an output unless `pinMode` fixed its mode; `digitalRead`
 *   makes it an input likewise; `analogRead` returns code / 4096.
 * - The console device receives host input as REPL input, not as 'data' events; the
 *   firmware moves it to LoopbackA to free USB.
 * - The watchdog, once enabled, resets the MCU when not kicked in time (or, in automatic
 *   mode, when the MCU does not get back to idle — see `hang`). A reset drops the whole
 *   JS state and leaves every pin floating; Storage (flash) and the RTC survive.
 *
 * Anything else the bundle reaches for — an unknown global, a member of E, process or a
 * device object that the shim does not implement, a module other than Storage — throws
 * "Espruino API X is not implemented by the simulator shim", and is recorded; by default
 * the simulation then stops (`strict`), so a firmware that catches the error cannot make
 * it pass unnoticed.
 */
import vm from 'node:vm';
import zlib from 'node:zlib';
import * as acorn from 'acorn';
import type { VirtualI2cBus } from './i2c-bus';
import { FlashStorage, STORAGE_MAX_NAME } from './flash-storage';
import { deriveSeed, seededRandom } from './random';

export interface VirtualClock {
  /** Seconds since the simulated power-on. */
  now: number;
}

/** How the MCU's pins and buses are wired to the rest of the simulation. */
export interface McuWiring {
  /** The bus on I2C1's pins, and those pins. */
  i2c1: { bus: VirtualI2cBus; scl: string; sda: string };
  /** Fraction 0..1 that analogRead returns for a pin, or throws if nothing is wired there. */
  analogRead(pin: string): number;
  /** Called after any change of pin mode or level (and after a reset). */
  pinsChanged(): void;
}

export type PinMode = 'input' | 'input_pullup' | 'input_pulldown' | 'output' | 'opendrain' | 'analog';
/** What a pin does to the circuit outside. */
export type PinDrive = 'high' | 'low' | 'float' | 'pullup' | 'pulldown';

export interface EspruinoMcuOptions {
  code: string;
  filename?: string;
  clock: VirtualClock;
  wiring: McuWiring;
  storage?: FlashStorage;
  /** From a watchdog reset to the boot code running (assumed: Pico boot and flash load). */
  bootDelayS?: number;
  /** JsVars on the board (Pico: 5,100). */
  memoryTotal?: number;
  env?: Record<string, string>;
  /** Stop the simulation when the bundle touches an API the shim lacks (default true). */
  strict?: boolean;
  /** Seeds the bundle's Math.random, so a run repeats bit for bit (default 1). */
  seed?: number;
  /** Bytes the MCU sends on a host-visible serial device. */
  onOutput(device: SerialName, data: string): void;
  /** Console text that goes nowhere visible (the console is on LoopbackA). */
  onConsole?(text: string): void;
}

export type SerialName = 'USB' | 'Serial1' | 'LoopbackA';

export interface McuEvent {
  t: number;
  what: string;
  /** For an unimplemented API: why it is missing (e.g. a Node-only global). */
  hint?: string;
}

/** Error class for APIs the shim lacks; host-side, so it is recognisable wherever it lands. */
export class ShimApiError extends Error {
  constructor(readonly api: string, hint = '') {
    super(`Espruino API ${api} is not implemented by the simulator shim${hint}`);
    this.name = 'ShimApiError';
  }
}

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

const PIN_MODES = new Set(['input', 'input_pullup', 'input_pulldown', 'output', 'opendrain', 'analog', 'auto']);

/** Pins an Espruino Pico brings out (and its on-board LED/button pins). */
const PICO_PINS = new Set([
  'A0', 'A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7', 'A8', 'A9', 'A10', 'A13', 'A14', 'A15',
  'B0', 'B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B9', 'B10', 'B12', 'B13', 'B14', 'B15',
  'C13', 'C14', 'C15',
]);
/** ADC-capable Pico pins. */
const PICO_ANALOG = new Set(['A0', 'A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7', 'B0', 'B1']);
/** I2C1 can sit on B6/B7 or B8/B9. */
const I2C1_PINS = [['B6', 'B7'], ['B8', 'B9']];

/** Espruino's TIMER_MIN_INTERVAL, 0.1 ms. */
const MIN_INTERVAL_S = 0.0001;

interface Timer {
  id: number;
  time: number;
  /** Seconds; 0 for a timeout. */
  interval: number;
  fn: (...args: unknown[]) => unknown;
  args: unknown[];
  seq: number;
  cancelled: boolean;
}

interface PinState {
  mode: PinMode;
  /** Set by pinMode: digitalWrite/Read then leave the mode alone. */
  manual: boolean;
  out: 0 | 1;
}

interface SerialDevice {
  name: SerialName;
  handlers: Array<(data: string) => void>;
}

type Sandbox = Record<string, unknown>;

/** Top-level `var` and function names of a script: they must exist on the sandbox before it runs. */
function topLevelNames(code: string): string[] {
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

function describe(e: unknown): string {
  if (e && typeof e === 'object' && 'message' in e) {
    const name = 'name' in e ? String((e as { name: unknown }).name) : 'Error';
    return name + ': ' + String((e as { message: unknown }).message);
  }
  return String(e);
}

export class EspruinoMcu {
  readonly storage: FlashStorage;
  readonly clock: VirtualClock;
  /** Boots so far (power-on included). */
  bootCount = 0;
  readonly resets: McuEvent[] = [];
  readonly uncaught: McuEvent[] = [];
  readonly unimplemented: McuEvent[] = [];
  /** Host input that reached the REPL because the console was still on that device. */
  readonly replInput: McuEvent[] = [];
  /** Last lines printed on a console nobody sees (LoopbackA). */
  readonly consoleTail: string[] = [];
  readonly stats = { callbacks: 0, i2cTransfers: 0, crcCalls: 0, kicks: 0 };
  private readonly options: EspruinoMcuOptions;
  private readonly script: vm.Script;
  private readonly predeclared: string[];
  private readonly strict: boolean;
  readonly bootDelayS: number;
  readonly memoryTotal: number;
  readonly memoryUsage: number;
  readonly env: Record<string, string>;
  private readonly wiring: McuWiring;

  // State of the running program; all of it is lost on reset.
  private sandbox: Sandbox | null = null;
  private ctxError: ErrorConstructor = Error;
  private ctxUint8Array: Uint8ArrayConstructor = Uint8Array;
  private timers: Timer[] = [];
  private timerById = new Map<number, Timer>();
  private nextTimerId = 1;
  private timerSeq = 0;
  private input: Array<{ device: SerialDevice; data: string }> = [];
  private devices: Record<SerialName, SerialDevice> = this.freshDevices();
  private consoleDevice: SerialName = 'USB';
  private uncaughtHandlers: Array<(e: unknown) => void> = [];
  private initHandlers: Array<() => void> = [];
  private watchdog: { timeoutS: number; auto: boolean; lastKick: number } | null = null;
  private i2cPins: { scl: string; sda: string } | null = null;
  private pins = new Map<string, PinState>();
  private bootAt: number | null = null;
  private frozenUntil = -Infinity;
  private reportedUnimplemented = 0;

  constructor(options: EspruinoMcuOptions) {
    this.options = options;
    this.clock = options.clock;
    this.wiring = options.wiring;
    this.storage = options.storage ?? new FlashStorage();
    this.strict = options.strict !== false;
    this.bootDelayS = options.bootDelayS ?? 0.05;
    this.memoryTotal = options.memoryTotal ?? 5100;
    // The simulator cannot see Espruino's heap. Estimate: code held as text (≈ 12
    // characters per JsVar) plus ≈ 1,100 for the program's objects, which is what the
    // firmware README measured for its 12 KB bundle (2,131 of 5,100) on Espruino's Linux build.
    this.memoryUsage = Math.min(this.memoryTotal, Math.ceil(options.code.length / 12) + 1100);
    this.env = { VERSION: '2v25', BOARD: 'PICO_R1_3', CONSOLE: 'USB', ...(options.env ?? {}) };
    this.script = new vm.Script(options.code, { filename: options.filename ?? 'firmware.js' });
    this.predeclared = topLevelNames(options.code);
  }

  /** Powers the MCU up: it boots at the current virtual time. */
  powerOn(): void {
    this.bootAt = this.clock.now;
  }

  /** Virtual time of the next thing the MCU will do (Infinity when idle for good). */
  nextEventTime(): number {
    let t = this.bootAt ?? Infinity;
    const wd = this.watchdogDeadline();
    if (wd < t) t = wd;
    if (this.sandbox === null) return t;
    const now = this.clock.now;
    if (now < this.frozenUntil) return this.frozenUntil < t ? this.frozenUntil : t;
    if (this.input.length > 0) return now;
    const timer = this.peekTimer();
    if (timer && timer.time < t) t = timer.time;
    return t;
  }

  /** Does the one thing due at the current virtual time, if any. */
  dispatch(): void {
    const now = this.clock.now;
    if (this.bootAt !== null && this.bootAt <= now) {
      this.boot();
    } else if (this.watchdogDeadline() <= now) {
      this.reset('watchdog');
    } else if (this.sandbox !== null && now >= this.frozenUntil) {
      if (this.input.length > 0) {
        const item = this.input.shift() as { device: SerialDevice; data: string };
        for (const h of item.device.handlers.slice()) this.callback(h as (...a: unknown[]) => unknown, [item.data]);
      } else {
        const timer = this.peekTimer();
        if (timer && timer.time <= now) this.runTimer(timer);
      }
      if (this.watchdog && this.watchdog.auto) this.watchdog.lastKick = now;
    }
    this.checkStrict();
  }

  /** Host → MCU bytes on a serial device, delivered at the next dispatch. */
  hostWrite(device: SerialName, data: string): void {
    if (this.sandbox === null || data.length === 0) return; // nobody listens during a reset
    const dev = this.devices[device];
    if (this.consoleDevice === device) {
      this.replInput.push({ t: this.clock.now, what: data });
      return;
    }
    if (dev.handlers.length === 0) return;
    this.input.push({ device: dev, data });
  }

  /**
   * Fault injection: the MCU stops running JavaScript for `durationS` (a hard fault loop,
   * a peripheral holding the CPU). Pins keep their levels; the watchdog keeps counting.
   */
  hang(durationS: number): void {
    this.frozenUntil = this.clock.now + durationS;
    // The automatic watchdog was last fed by the idle loop, which is now.
    if (this.watchdog && this.watchdog.auto) this.watchdog.lastKick = this.clock.now;
  }

  /** Resets the MCU (watchdog, button, brown-out): pins float, JS state is gone, it reboots. */
  reset(cause: string): void {
    this.resets.push({ t: this.clock.now, what: cause });
    this.teardown();
    this.bootAt = this.clock.now + this.bootDelayS;
    this.wiring.pinsChanged();
  }

  get running(): boolean {
    return this.sandbox !== null;
  }

  get watchdogEnabled(): boolean {
    return this.watchdog !== null;
  }

  /** The console device (where REPL output and host input for the REPL go). */
  get console(): SerialName {
    return this.consoleDevice;
  }

  /** What a pin does electrically right now. */
  pinDrive(pin: string): PinDrive {
    const s = this.pins.get(pin);
    if (!s) return 'float';
    switch (s.mode) {
      case 'output': return s.out ? 'high' : 'low';
      case 'opendrain': return s.out ? 'float' : 'low';
      case 'input_pullup': return 'pullup';
      case 'input_pulldown': return 'pulldown';
      default: return 'float';
    }
  }

  /** A global the program defined (e.g. onInit), without tripping the unknown-API trap. */
  programGlobal(name: string): unknown {
    const s = this.sandbox;
    return s && Object.prototype.hasOwnProperty.call(s, name) ? s[name] : undefined;
  }

  // ---- boot and reset ----

  private freshDevices(): Record<SerialName, SerialDevice> {
    return {
      USB: { name: 'USB', handlers: [] },
      Serial1: { name: 'Serial1', handlers: [] },
      LoopbackA: { name: 'LoopbackA', handlers: [] },
    };
  }

  private teardown(): void {
    this.sandbox = null;
    this.timers = [];
    this.timerById.clear();
    this.input = [];
    this.devices = this.freshDevices();
    this.consoleDevice = 'USB';
    this.uncaughtHandlers = [];
    this.initHandlers = [];
    this.watchdog = null;
    this.i2cPins = null;
    this.pins.clear();
    this.frozenUntil = -Infinity;
  }

  private boot(): void {
    this.teardown();
    this.bootAt = null;
    this.bootCount++;
    const sandbox: Sandbox = {};
    const ctx = vm.createContext(sandbox, { name: 'espruino', codeGeneration: { strings: true, wasm: false } });
    const builtins = vm.runInContext('({' + ESPRUINO_BUILTINS.map((n) => JSON.stringify(n) + ':' + n).join(',') + '})', ctx) as Sandbox;
    for (const name of ESPRUINO_BUILTINS) sandbox[name] = builtins[name];
    this.ctxError = builtins.Error as ErrorConstructor;
    this.ctxUint8Array = builtins.Uint8Array as Uint8ArrayConstructor;
    // Nothing in the bundle may depend on the host: Math.random draws from the run's seed
    // (one stream per boot), and Date follows the virtual clock as Espruino's follows
    // getTime() (Date.now() = getTime() × 1000).
    (builtins.Math as { random: () => number }).random = seededRandom(deriveSeed(this.options.seed ?? 1, 'mcu-random-' + this.bootCount));
    sandbox.Date = (vm.runInContext(
      '(function (now) { return class Date extends this.Date { constructor(...a) { if (a.length === 0) super(now()); else super(...a); } static now() { return now(); } }; })',
      ctx) as (now: () => number) => unknown).call(builtins, () => this.clock.now * 1000);
    sandbox.InternalError = vm.runInContext(
      '(function () { function InternalError(m) { var e = new Error(m); e.name = "InternalError"; return e; } return InternalError; })()', ctx);
    sandbox.global = vm.runInContext('this', ctx);
    this.installApi(sandbox);
    for (const name of this.predeclared) if (!(name in sandbox)) sandbox[name] = undefined;
    Object.setPrototypeOf(sandbox, this.unknownGlobalTrap());
    this.sandbox = sandbox;
    this.wiring.pinsChanged();
    try {
      this.script.runInContext(ctx);
    } catch (e) {
      this.uncaughtException(e);
    }
    for (const h of this.initHandlers.slice()) this.callback(h, []);
    const onInit = this.programGlobal('onInit');
    if (typeof onInit === 'function') this.callback(onInit as () => void, []);
  }

  private unknownGlobalTrap(): object {
    const record = (name: string): never => this.unimplementedApi(name,
      NOT_ON_ESPRUINO.has(name) ? ` (${name} is a Node.js or ES2015+ global that Espruino does not have)` : '');
    return new Proxy(Object.create(null), {
      get: (_t, key) => (typeof key === 'symbol' ? undefined : record(key)),
      // Assignments to new globals (global.onInit = …, sloppy-mode implicit globals) land on the sandbox.
      set: (_t, key, value, receiver) => {
        Object.defineProperty(receiver, key, { value, writable: true, enumerable: true, configurable: true });
        return true;
      },
      has: () => false,
    });
  }

  private unimplementedApi(api: string, hint = ''): never {
    this.unimplemented.push({ t: this.clock.now, what: api, hint });
    throw new ShimApiError(api, hint);
  }

  /** Wraps an API object so that any member the shim lacks fails loudly. */
  private strictObject<T extends object>(name: string, members: T): T {
    const target = Object.assign(Object.create(null), members) as T;
    return new Proxy(target, {
      get: (t, key) => {
        if (typeof key === 'symbol') return undefined;
        if (Object.prototype.hasOwnProperty.call(t, key)) return (t as Record<string, unknown>)[key];
        return this.unimplementedApi(`${name}.${key}`);
      },
      set: (_t, key) => this.unimplementedApi(`${name}.${String(key)} (assignment)`),
    });
  }

  private checkStrict(): void {
    if (this.unimplemented.length === this.reportedUnimplemented) return;
    const first = this.unimplemented[this.reportedUnimplemented];
    this.reportedUnimplemented = this.unimplemented.length;
    if (this.strict) {
      throw new ShimApiError(first.what, `${first.hint ?? ''} (the bundle used it at t=${first.t.toFixed(3)} s; the simulation stops here)`);
    }
  }

  // ---- callbacks, timers, watchdog ----

  private callback(fn: (...args: unknown[]) => unknown, args: unknown[]): void {
    this.stats.callbacks++;
    try {
      fn.apply(undefined, args);
    } catch (e) {
      this.uncaughtException(e);
    }
  }

  private uncaughtException(e: unknown): void {
    this.uncaught.push({ t: this.clock.now, what: describe(e) });
    const handlers = this.uncaughtHandlers.slice();
    if (handlers.length === 0) {
      this.print('Uncaught ' + describe(e) + '\r\n');
      return;
    }
    for (const h of handlers) {
      try {
        h(e);
      } catch (e2) {
        this.print('Uncaught ' + describe(e2) + '\r\n');
      }
    }
  }

  private watchdogDeadline(): number {
    const wd = this.watchdog;
    if (!wd) return Infinity;
    // In automatic mode the idle loop kicks it, so only a hang lets it expire.
    if (wd.auto && !(this.clock.now < this.frozenUntil)) return Infinity;
    return wd.lastKick + wd.timeoutS;
  }

  private peekTimer(): Timer | undefined {
    const heap = this.timers;
    while (heap.length > 0 && heap[0].cancelled) this.popTimer();
    return heap[0];
  }

  private runTimer(timer: Timer): void {
    this.popTimer();
    if (timer.interval > 0) {
      // Rescheduled from its due time, not from now; it keeps its place among timers
      // due at the same instant (Espruino walks its timer list in creation order).
      timer.time += timer.interval;
      this.pushTimer(timer);
    } else {
      this.timerById.delete(timer.id);
    }
    this.callback(timer.fn, timer.args);
  }

  private addTimer(fn: unknown, ms: unknown, args: unknown[], repeat: boolean): number {
    if (typeof fn !== 'function') {
      if (typeof fn === 'string') this.unimplementedApi(repeat ? 'setInterval(string)' : 'setTimeout(string)', ' (code as a string would need eval)');
      throw new this.ctxError('Function or String not supplied!');
    }
    let s = Number(ms) / 1000;
    if (!(s >= MIN_INTERVAL_S)) s = MIN_INTERVAL_S;
    const timer: Timer = {
      id: this.nextTimerId++, time: this.clock.now + s, interval: repeat ? s : 0,
      fn: fn as (...a: unknown[]) => unknown, args, seq: this.timerSeq++, cancelled: false,
    };
    this.timerById.set(timer.id, timer);
    this.pushTimer(timer);
    return timer.id;
  }

  private clearTimer(args: unknown[], kind: string): void {
    if (args.length === 0) {
      for (const t of this.timerById.values()) t.cancelled = true;
      this.timerById.clear();
      return;
    }
    if (args[0] === undefined) throw new this.ctxError(`clear${kind}(undefined) not allowed. Use clear${kind}() instead`);
    const t = this.timerById.get(Number(args[0]));
    if (t) {
      t.cancelled = true;
      this.timerById.delete(t.id);
    }
  }

  private pushTimer(t: Timer): void {
    const heap = this.timers;
    heap.push(t);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!earlier(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  private popTimer(): void {
    const heap = this.timers;
    const last = heap.pop() as Timer;
    if (heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && earlier(heap[l], heap[m])) m = l;
      if (r < heap.length && earlier(heap[r], heap[m])) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  }

  // ---- console and serial ----

  private print(text: string): void {
    const dev = this.consoleDevice;
    if (dev === 'LoopbackA') {
      for (const line of text.split(/\r?\n/)) {
        if (line.length === 0) continue;
        this.consoleTail.push(line);
        if (this.consoleTail.length > 200) this.consoleTail.shift();
      }
      this.options.onConsole?.(text);
      return;
    }
    this.options.onOutput(dev, text);
  }

  private serialObject(device: SerialName): object {
    const members: Record<string, unknown> = {
      on: (event: unknown, fn: unknown) => {
        if (event !== 'data') return this.unimplementedApi(`${device}.on('${String(event)}')`);
        if (typeof fn !== 'function') throw new this.ctxError(`${device}.on('data') needs a function`);
        this.devices[device].handlers.push(fn as (d: string) => void);
      },
      write: (...data: unknown[]) => {
        const text = data.map((d) => bytesToString(d)).join('');
        if (device === 'LoopbackA') return; // into LoopbackB, which nothing reads
        this.options.onOutput(device, text);
      },
      setConsole: () => {
        this.consoleDevice = device;
      },
    };
    if (device === 'Serial1') {
      members.setup = (baud: unknown) => {
        if (typeof baud !== 'number' || !(baud > 0)) throw new this.ctxError('Serial1.setup: baud rate must be a positive number');
      };
    }
    return this.strictObject(device, members);
  }

  // ---- the API the bundle sees ----

  private installApi(g: Sandbox): void {
    const clock = this.clock;
    g.setInterval = (fn: unknown, ms: unknown, ...args: unknown[]) => this.addTimer(fn, ms, args, true);
    g.setTimeout = (fn: unknown, ms: unknown, ...args: unknown[]) => this.addTimer(fn, ms, args, false);
    g.clearInterval = (...args: unknown[]) => this.clearTimer(args, 'Interval');
    g.clearTimeout = (...args: unknown[]) => this.clearTimer(args, 'Timeout');
    g.getTime = () => clock.now;
    g.pinMode = (pin: unknown, mode: unknown) => {
      const s = this.pin(pin);
      if (typeof mode !== 'string' || !PIN_MODES.has(mode)) throw new this.ctxError(`pinMode: unknown mode ${String(mode)}`);
      if (mode === 'auto') {
        s.manual = false;
      } else {
        s.manual = true;
        s.mode = mode as PinMode;
      }
      this.wiring.pinsChanged();
    };
    g.digitalWrite = (pin: unknown, value: unknown) => {
      const s = this.pin(pin);
      s.out = value ? 1 : 0;
      if (!s.manual) s.mode = 'output';
      this.wiring.pinsChanged();
    };
    g.digitalRead = (pin: unknown) => {
      const name = String(pin);
      const s = this.pin(pin);
      if (s.mode === 'output') return s.out;
      if (!s.manual) {
        s.mode = 'input';
        this.wiring.pinsChanged();
      }
      return this.pinDrive(name) === 'pullup' ? 1 : 0;
    };
    g.analogRead = (pin: unknown) => {
      const name = String(pin);
      const s = this.pin(pin);
      if (!PICO_ANALOG.has(name)) throw new this.ctxError(`Pin ${name} is not capable of Analog Input`);
      if (!s.manual && s.mode !== 'analog') {
        s.mode = 'analog';
        this.wiring.pinsChanged();
      }
      return this.wiring.analogRead(name);
    };
    g.I2C1 = this.strictObject('I2C1', {
      setup: (opts: unknown) => {
        const o = (opts ?? {}) as { scl?: unknown; sda?: unknown; bitrate?: unknown };
        const pair = I2C1_PINS.find(([scl, sda]) => o.scl === scl && o.sda === sda);
        if (!pair) throw new this.ctxError(`I2C1.setup: scl ${String(o.scl)} / sda ${String(o.sda)} are not I2C1 pins (B6/B7 or B8/B9)`);
        if (o.bitrate !== undefined && !(typeof o.bitrate === 'number' && o.bitrate > 0)) throw new this.ctxError('I2C1.setup: bad bitrate');
        this.i2cPins = { scl: pair[0], sda: pair[1] };
      },
      writeTo: (address: unknown, ...data: unknown[]) => {
        const addr = this.i2cAddress(address);
        this.i2cTransfer(() => this.wiring.i2c1.bus.writeTo(addr, flattenBytes(data)));
      },
      readFrom: (address: unknown, quantity: unknown) => {
        const addr = this.i2cAddress(address);
        const n = Number(quantity);
        const bytes = this.i2cTransfer(() => this.wiring.i2c1.bus.readFrom(addr, n));
        const out = new this.ctxUint8Array(bytes.length);
        out.set(bytes);
        return out;
      },
    });
    g.USB = this.serialObject('USB');
    g.Serial1 = this.serialObject('Serial1');
    g.LoopbackA = this.serialObject('LoopbackA');
    const storage = this.storage;
    const storageApi = this.strictObject('Storage', {
      read: (name: unknown) => storage.read(this.fileName(name)),
      write: (name: unknown, data: unknown) => {
        const file = this.fileName(name);
        if (typeof data !== 'string') return this.unimplementedApi('Storage.write(non-string data)');
        return storage.write(file, data);
      },
      erase: (name: unknown) => storage.erase(this.fileName(name)),
    });
    g.require = (name: unknown) => {
      if (name === 'Storage') return storageApi;
      return this.unimplementedApi(`require('${String(name)}')`);
    };
    g.E = this.strictObject('E', {
      CRC32: (data: unknown) => {
        this.stats.crcCalls++;
        return zlib.crc32(typeof data === 'string' ? Buffer.from(data, 'latin1') : Uint8Array.from(flattenBytes([data])));
      },
      enableWatchdog: (timeout: unknown, isAuto: unknown) => {
        let t = Number(timeout);
        if (!(t >= 0)) t = 1;
        this.watchdog = { timeoutS: t, auto: isAuto === undefined || Boolean(isAuto), lastKick: clock.now };
      },
      kickWatchdog: () => {
        this.stats.kicks++;
        if (this.watchdog) this.watchdog.lastKick = clock.now;
      },
      on: (event: unknown, fn: unknown) => {
        if (event !== 'init') return this.unimplementedApi(`E.on('${String(event)}')`);
        if (typeof fn === 'function') this.initHandlers.push(fn as () => void);
      },
    });
    const env = Object.freeze({ ...this.env });
    g.process = this.strictObject('process', {
      memory: () => ({ free: this.memoryTotal - this.memoryUsage, usage: this.memoryUsage, total: this.memoryTotal }),
      on: (event: unknown, fn: unknown) => {
        if (event !== 'uncaughtException') return this.unimplementedApi(`process.on('${String(event)}')`);
        if (typeof fn === 'function') this.uncaughtHandlers.push(fn as (e: unknown) => void);
      },
      env,
    });
    const log = (...args: unknown[]) => this.print(args.map(formatValue).join(' ') + '\r\n');
    g.console = this.strictObject('console', { log, info: log, warn: log, error: log, debug: log });
  }

  private pin(pin: unknown): PinState {
    const name = String(pin);
    if (!PICO_PINS.has(name)) throw new this.ctxError(`Invalid pin! (${name})`);
    let s = this.pins.get(name);
    if (!s) {
      s = { mode: 'input', manual: false, out: 0 };
      this.pins.set(name, s);
    }
    return s;
  }

  private fileName(name: unknown): string {
    if (typeof name !== 'string' || name.length === 0) throw new this.ctxError('Storage: file name must be a non-empty string');
    if (name.length > STORAGE_MAX_NAME) throw new this.ctxError(`Storage: file name "${name}" is longer than ${STORAGE_MAX_NAME} characters`);
    return name;
  }

  private i2cAddress(address: unknown): number {
    if (typeof address !== 'number') return this.unimplementedApi('I2C1.writeTo/readFrom with an address object');
    if (!this.i2cPins) throw new this.ctxError('I2C1 is not set up: call I2C1.setup({scl, sda}) first');
    return address;
  }

  private i2cTransfer<T>(transfer: () => T): T {
    this.stats.i2cTransfers++;
    const pins = this.i2cPins as { scl: string; sda: string };
    const wired = this.wiring.i2c1;
    if (pins.scl !== wired.scl || pins.sda !== wired.sda) {
      // Set up on pins where no sensor is wired: nothing ever acknowledges.
      throw this.internalError('I2C got NACK');
    }
    try {
      return transfer();
    } catch (e) {
      throw this.internalError(e instanceof Error ? e.message : String(e));
    }
  }

  private internalError(message: string): Error {
    const e = new this.ctxError(message);
    e.name = 'InternalError';
    return e;
  }
}

function earlier(a: Timer, b: Timer): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

/** Espruino accepts numbers, strings, arrays and typed arrays wherever bytes go. */
function flattenBytes(items: unknown[]): number[] {
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

function bytesToString(d: unknown): string {
  if (typeof d === 'string') return d;
  return String.fromCharCode(...flattenBytes([d]));
}

function formatValue(v: unknown): string {
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
