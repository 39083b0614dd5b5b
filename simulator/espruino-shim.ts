/**
 * An Espruino MCU in a Node `vm` context, on virtual time: the built firmware bundle
 * runs in it unchanged, with the API of firmware/src/espruino.d.ts and nothing more.
 * This file is the MCU's life cycle (power-on, boot, dispatch, hang, watchdog, reset);
 * its parts are in espruino-realm.ts (the JS world), espruino-api.ts (the globals),
 * espruino-timers.ts, espruino-pins.ts and espruino-serial.ts.
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
import { ApiHost, McuStats, installEspruinoApi } from './espruino-api';
import { PinBank } from './espruino-pins';
import { Sandbox, createRealm, describeError, topLevelNames, unknownGlobalTrap } from './espruino-realm';
import { SerialPorts } from './espruino-serial';
import { TimerQueue } from './espruino-timers';
import { McuEvent, McuWiring, PinDrive, SerialName, ShimApiError, VirtualClock } from './espruino-types';
import { FlashStorage } from './flash-storage';

export type { McuEvent, McuWiring, PinDrive, PinMode, SerialName, VirtualClock } from './espruino-types';
export { ShimApiError } from './espruino-types';

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

interface Watchdog {
  timeoutS: number;
  /** Fed by the idle loop rather than by E.kickWatchdog(). */
  automatic: boolean;
  lastKick: number;
}

export class EspruinoMcu implements ApiHost {
  readonly storage: FlashStorage;
  readonly clock: VirtualClock;
  readonly wiring: McuWiring;
  /** Boots so far (power-on included). */
  bootCount = 0;
  readonly resets: McuEvent[] = [];
  readonly uncaught: McuEvent[] = [];
  readonly unimplemented: McuEvent[] = [];
  readonly stats: McuStats = { callbacks: 0, i2cTransfers: 0, crcCalls: 0, kicks: 0 };
  readonly bootDelayS: number;
  readonly memoryTotal: number;
  readonly memoryUsage: number;
  readonly env: Record<string, string>;
  readonly timers = new TimerQueue();
  readonly pins = new PinBank();
  readonly serial: SerialPorts;
  private readonly seed: number;
  private readonly script: vm.Script;
  private readonly predeclared: string[];
  private readonly strict: boolean;

  // State of the running program; all of it is lost on reset.
  private sandbox: Sandbox | null = null;
  private realmError: ErrorConstructor = Error;
  private realmUint8Array: Uint8ArrayConstructor = Uint8Array;
  private uncaughtHandlers: Array<(e: unknown) => void> = [];
  private initHandlers: Array<() => void> = [];
  private watchdog: Watchdog | null = null;
  private bootAt: number | null = null;
  private frozenUntil = -Infinity;
  private reportedUnimplemented = 0;

  constructor(options: EspruinoMcuOptions) {
    this.clock = options.clock;
    this.wiring = options.wiring;
    this.storage = options.storage ?? new FlashStorage();
    this.serial = new SerialPorts(options);
    this.strict = options.strict !== false;
    this.seed = options.seed ?? 1;
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

  /** Host input that reached the REPL because the console was still on that device. */
  get replInput(): McuEvent[] {
    return this.serial.replInput;
  }

  /** Last lines printed on a console nobody sees (LoopbackA). */
  get consoleTail(): string[] {
    return this.serial.consoleTail;
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
    if (this.serial.hasInput) return now;
    const timer = this.timers.peek();
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
      if (this.serial.hasInput) {
        const input = this.serial.takeInput();
        for (const h of input.handlers) this.callback(h as (...a: unknown[]) => unknown, [input.data]);
      } else {
        const timer = this.timers.peek();
        if (timer && timer.time <= now) {
          this.timers.take(timer);
          this.callback(timer.fn, timer.args);
        }
      }
      if (this.watchdog && this.watchdog.automatic) this.watchdog.lastKick = now;
    }
    this.checkStrict();
  }

  /** Host → MCU bytes on a serial device, delivered at the next dispatch. */
  hostWrite(device: SerialName, data: string): void {
    if (this.sandbox === null || data.length === 0) return; // nobody listens during a reset
    this.serial.hostWrite(device, data, this.clock.now);
  }

  /**
   * Fault injection: the MCU stops running JavaScript for `durationS` (a hard fault loop,
   * a peripheral holding the CPU). Pins keep their levels; the watchdog keeps counting.
   */
  hang(durationS: number): void {
    this.frozenUntil = this.clock.now + durationS;
    // The automatic watchdog was last fed by the idle loop, which is now.
    if (this.watchdog && this.watchdog.automatic) this.watchdog.lastKick = this.clock.now;
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
    return this.serial.consoleDevice;
  }

  /** What a pin does electrically right now. */
  pinDrive(pin: string): PinDrive {
    return this.pins.drive(pin);
  }

  /** A global the program defined (e.g. onInit), without tripping the unknown-API trap. */
  programGlobal(name: string): unknown {
    const s = this.sandbox;
    return s && Object.prototype.hasOwnProperty.call(s, name) ? s[name] : undefined;
  }

  // ---- what the API (espruino-api.ts) asks of the MCU ----

  error(message: string): Error {
    return new this.realmError(message);
  }

  bytes(values: ArrayLike<number>): Uint8Array {
    const out = new this.realmUint8Array(values.length);
    out.set(values);
    return out;
  }

  /** Records an API the shim lacks and throws; `checkStrict` stops the run after the callback. */
  readonly unimplementedApi = (api: string, hint = ''): never => {
    this.unimplemented.push({ t: this.clock.now, what: api, hint });
    throw new ShimApiError(api, hint);
  };

  enableWatchdog(timeoutS: number, automatic: boolean): void {
    this.watchdog = { timeoutS, automatic, lastKick: this.clock.now };
  }

  kickWatchdog(): void {
    this.stats.kicks++;
    if (this.watchdog) this.watchdog.lastKick = this.clock.now;
  }

  onInit(handler: () => void): void {
    this.initHandlers.push(handler);
  }

  onUncaughtException(handler: (e: unknown) => void): void {
    this.uncaughtHandlers.push(handler);
  }

  // ---- boot and reset ----

  private teardown(): void {
    this.sandbox = null;
    this.timers.clear();
    this.serial.clear();
    this.uncaughtHandlers = [];
    this.initHandlers = [];
    this.watchdog = null;
    this.pins.clear();
    this.frozenUntil = -Infinity;
  }

  private boot(): void {
    this.teardown();
    this.bootAt = null;
    this.bootCount++;
    const realm = createRealm(this.seed, this.bootCount, () => this.clock.now * 1000);
    const sandbox = realm.sandbox;
    this.realmError = realm.ErrorCtor;
    this.realmUint8Array = realm.Uint8ArrayCtor;
    installEspruinoApi(sandbox, this);
    for (const name of this.predeclared) if (!(name in sandbox)) sandbox[name] = undefined;
    Object.setPrototypeOf(sandbox, unknownGlobalTrap(this.unimplementedApi));
    this.sandbox = sandbox;
    this.wiring.pinsChanged();
    try {
      this.script.runInContext(realm.context);
    } catch (e) {
      this.uncaughtException(e);
    }
    for (const h of this.initHandlers.slice()) this.callback(h, []);
    const onInit = this.programGlobal('onInit');
    if (typeof onInit === 'function') this.callback(onInit as () => void, []);
  }

  private checkStrict(): void {
    if (this.unimplemented.length === this.reportedUnimplemented) return;
    const first = this.unimplemented[this.reportedUnimplemented];
    this.reportedUnimplemented = this.unimplemented.length;
    if (this.strict) {
      throw new ShimApiError(first.what, `${first.hint ?? ''} (the bundle used it at t=${first.t.toFixed(3)} s; the simulation stops here)`);
    }
  }

  // ---- callbacks and the watchdog ----

  private callback(fn: (...args: unknown[]) => unknown, args: unknown[]): void {
    this.stats.callbacks++;
    try {
      fn.apply(undefined, args);
    } catch (e) {
      this.uncaughtException(e);
    }
  }

  private uncaughtException(e: unknown): void {
    this.uncaught.push({ t: this.clock.now, what: describeError(e) });
    const handlers = this.uncaughtHandlers.slice();
    if (handlers.length === 0) {
      this.serial.print('Uncaught ' + describeError(e) + '\r\n');
      return;
    }
    for (const h of handlers) {
      try {
        h(e);
      } catch (e2) {
        this.serial.print('Uncaught ' + describeError(e2) + '\r\n');
      }
    }
  }

  private watchdogDeadline(): number {
    const wd = this.watchdog;
    if (!wd) return Infinity;
    // In automatic mode the idle loop kicks it, so only a hang lets it expire.
    if (wd.automatic && !(this.clock.now < this.frozenUntil)) return Infinity;
    return wd.lastKick + wd.timeoutS;
  }
}
