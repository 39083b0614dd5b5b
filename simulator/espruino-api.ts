/**
 * The globals the bundle sees, exactly the API of firmware/src/espruino.d.ts: timers,
 * getTime, pins, analogRead, I2C1, the serial devices, require('Storage'), E, process
 * and console. Each is a thin translation onto the MCU's state (espruino-shim.ts) and
 * its wiring; errors the bundle can catch are made in its own realm, as Espruino's are.
 */
import zlib from 'node:zlib';
import type { FlashStorage } from './flash-storage';
import { STORAGE_MAX_NAME } from './flash-storage';
import type { PinBank } from './espruino-pins';
import { I2C1_PINS, PICO_ANALOG, PIN_MODES } from './espruino-pins';
import { Sandbox, UnimplementedApi, bytesToString, consoleText, flattenBytes, strictApiObject } from './espruino-realm';
import type { SerialPorts } from './espruino-serial';
import type { TimerQueue } from './espruino-timers';
import type { McuWiring, PinMode, SerialName, VirtualClock } from './espruino-types';

export interface McuStats {
  callbacks: number;
  i2cTransfers: number;
  crcCalls: number;
  kicks: number;
}

/** What of the MCU the API reaches: its parts, and the few things only the MCU may do. */
export interface ApiHost {
  readonly clock: VirtualClock;
  readonly wiring: McuWiring;
  readonly storage: FlashStorage;
  readonly stats: McuStats;
  readonly env: Record<string, string>;
  readonly memoryTotal: number;
  readonly memoryUsage: number;
  readonly timers: TimerQueue;
  readonly pins: PinBank;
  readonly serial: SerialPorts;
  /** An Error of the bundle's realm. */
  error(message: string): Error;
  /** A Uint8Array of the bundle's realm. */
  bytes(values: ArrayLike<number>): Uint8Array;
  unimplementedApi: UnimplementedApi;
  enableWatchdog(timeoutS: number, automatic: boolean): void;
  kickWatchdog(): void;
  onInit(handler: () => void): void;
  onUncaughtException(handler: (e: unknown) => void): void;
}

export function installEspruinoApi(g: Sandbox, mcu: ApiHost): void {
  const strict = <T extends object>(name: string, members: T): T => strictApiObject(name, members, mcu.unimplementedApi);
  installTimers(g, mcu);
  installPins(g, mcu);
  g.I2C1 = strict('I2C1', i2c1Members(mcu));
  for (const device of ['USB', 'Serial1', 'LoopbackA'] as const) g[device] = strict(device, serialMembers(mcu, device));
  const storageApi = strict('Storage', storageMembers(mcu));
  g.require = (name: unknown) => {
    if (name === 'Storage') return storageApi;
    return mcu.unimplementedApi(`require('${String(name)}')`);
  };
  g.E = strict('E', {
    CRC32: (data: unknown) => {
      mcu.stats.crcCalls++;
      return zlib.crc32(typeof data === 'string' ? Buffer.from(data, 'latin1') : Uint8Array.from(flattenBytes([data])));
    },
    enableWatchdog: (timeout: unknown, isAuto: unknown) => {
      let t = Number(timeout);
      if (!(t >= 0)) t = 1;
      mcu.enableWatchdog(t, isAuto === undefined || Boolean(isAuto));
    },
    kickWatchdog: () => mcu.kickWatchdog(),
    on: (event: unknown, fn: unknown) => {
      if (event !== 'init') return mcu.unimplementedApi(`E.on('${String(event)}')`);
      if (typeof fn === 'function') mcu.onInit(fn as () => void);
    },
  });
  const env = Object.freeze({ ...mcu.env });
  g.process = strict('process', {
    memory: () => ({ free: mcu.memoryTotal - mcu.memoryUsage, usage: mcu.memoryUsage, total: mcu.memoryTotal }),
    on: (event: unknown, fn: unknown) => {
      if (event !== 'uncaughtException') return mcu.unimplementedApi(`process.on('${String(event)}')`);
      if (typeof fn === 'function') mcu.onUncaughtException(fn as (e: unknown) => void);
    },
    env,
  });
  const log = (...args: unknown[]) => mcu.serial.print(args.map(consoleText).join(' ') + '\r\n');
  g.console = strict('console', { log, info: log, warn: log, error: log, debug: log });
}

function installTimers(g: Sandbox, mcu: ApiHost): void {
  const add = (fn: unknown, ms: unknown, args: unknown[], repeat: boolean): number => {
    if (typeof fn !== 'function') {
      if (typeof fn === 'string') mcu.unimplementedApi(repeat ? 'setInterval(string)' : 'setTimeout(string)', ' (code as a string would need eval)');
      throw mcu.error('Function or String not supplied!');
    }
    return mcu.timers.add(fn as (...a: unknown[]) => unknown, args, Number(ms) / 1000, repeat, mcu.clock.now);
  };
  const clear = (args: unknown[], kind: string): void => {
    if (args.length === 0) return mcu.timers.cancelAll();
    if (args[0] === undefined) throw mcu.error(`clear${kind}(undefined) not allowed. Use clear${kind}() instead`);
    mcu.timers.cancel(Number(args[0]));
  };
  g.setInterval = (fn: unknown, ms: unknown, ...args: unknown[]) => add(fn, ms, args, true);
  g.setTimeout = (fn: unknown, ms: unknown, ...args: unknown[]) => add(fn, ms, args, false);
  g.clearInterval = (...args: unknown[]) => clear(args, 'Interval');
  g.clearTimeout = (...args: unknown[]) => clear(args, 'Timeout');
  g.getTime = () => mcu.clock.now;
}

function installPins(g: Sandbox, mcu: ApiHost): void {
  const invalid = (message: string): Error => mcu.error(message);
  g.pinMode = (pin: unknown, mode: unknown) => {
    const s = mcu.pins.state(String(pin), invalid);
    if (typeof mode !== 'string' || !PIN_MODES.has(mode)) throw mcu.error(`pinMode: unknown mode ${String(mode)}`);
    if (mode === 'auto') {
      s.manual = false;
    } else {
      s.manual = true;
      s.mode = mode as PinMode;
    }
    mcu.wiring.pinsChanged();
  };
  g.digitalWrite = (pin: unknown, value: unknown) => {
    const s = mcu.pins.state(String(pin), invalid);
    s.out = value ? 1 : 0;
    if (!s.manual) s.mode = 'output';
    mcu.wiring.pinsChanged();
  };
  g.digitalRead = (pin: unknown) => {
    const name = String(pin);
    const s = mcu.pins.state(name, invalid);
    if (s.mode === 'output') return s.out;
    if (!s.manual) {
      s.mode = 'input';
      mcu.wiring.pinsChanged();
    }
    return mcu.pins.drive(name) === 'pullup' ? 1 : 0;
  };
  g.analogRead = (pin: unknown) => {
    const name = String(pin);
    const s = mcu.pins.state(name, invalid);
    if (!PICO_ANALOG.has(name)) throw mcu.error(`Pin ${name} is not capable of Analog Input`);
    if (!s.manual && s.mode !== 'analog') {
      s.mode = 'analog';
      mcu.wiring.pinsChanged();
    }
    return mcu.wiring.analogRead(name);
  };
}

function i2c1Members(mcu: ApiHost) {
  let pins: { scl: string; sda: string } | null = null;
  const address = (a: unknown): number => {
    if (typeof a !== 'number') return mcu.unimplementedApi('I2C1.writeTo/readFrom with an address object');
    if (!pins) throw mcu.error('I2C1 is not set up: call I2C1.setup({scl, sda}) first');
    return a;
  };
  // Espruino reports every failed transfer as an InternalError.
  const internalError = (message: string): Error => {
    const e = mcu.error(message);
    e.name = 'InternalError';
    return e;
  };
  const transfer = <T>(run: () => T): T => {
    mcu.stats.i2cTransfers++;
    const wired = mcu.wiring.i2c1;
    const used = pins as { scl: string; sda: string };
    // Set up on pins where no sensor is wired: nothing ever acknowledges.
    if (used.scl !== wired.scl || used.sda !== wired.sda) throw internalError('I2C got NACK');
    try {
      return run();
    } catch (e) {
      throw internalError(e instanceof Error ? e.message : String(e));
    }
  };
  return {
    setup: (opts: unknown) => {
      const o = (opts ?? {}) as { scl?: unknown; sda?: unknown; bitrate?: unknown };
      const pair = I2C1_PINS.find(([scl, sda]) => o.scl === scl && o.sda === sda);
      if (!pair) throw mcu.error(`I2C1.setup: scl ${String(o.scl)} / sda ${String(o.sda)} are not I2C1 pins (B6/B7 or B8/B9)`);
      if (o.bitrate !== undefined && !(typeof o.bitrate === 'number' && o.bitrate > 0)) throw mcu.error('I2C1.setup: bad bitrate');
      pins = { scl: pair[0], sda: pair[1] };
    },
    writeTo: (to: unknown, ...data: unknown[]) => {
      const a = address(to);
      transfer(() => mcu.wiring.i2c1.bus.writeTo(a, flattenBytes(data)));
    },
    readFrom: (from: unknown, quantity: unknown) => {
      const a = address(from);
      const n = Number(quantity);
      return mcu.bytes(transfer(() => mcu.wiring.i2c1.bus.readFrom(a, n)));
    },
  };
}

function serialMembers(mcu: ApiHost, device: SerialName): Record<string, unknown> {
  const members: Record<string, unknown> = {
    on: (event: unknown, fn: unknown) => {
      if (event !== 'data') return mcu.unimplementedApi(`${device}.on('${String(event)}')`);
      if (typeof fn !== 'function') throw mcu.error(`${device}.on('data') needs a function`);
      mcu.serial.onData(device, fn as (d: string) => void);
    },
    write: (...data: unknown[]) => {
      const text = data.map((d) => bytesToString(d)).join('');
      mcu.serial.write(device, text);
    },
    setConsole: () => {
      mcu.serial.consoleDevice = device;
    },
  };
  if (device === 'Serial1') {
    members.setup = (baud: unknown) => {
      if (typeof baud !== 'number' || !(baud > 0)) throw mcu.error('Serial1.setup: baud rate must be a positive number');
    };
  }
  return members;
}

function storageMembers(mcu: ApiHost) {
  const fileName = (name: unknown): string => {
    if (typeof name !== 'string' || name.length === 0) throw mcu.error('Storage: file name must be a non-empty string');
    if (name.length > STORAGE_MAX_NAME) throw mcu.error(`Storage: file name "${name}" is longer than ${STORAGE_MAX_NAME} characters`);
    return name;
  };
  const storage = mcu.storage;
  return {
    read: (name: unknown) => storage.read(fileName(name)),
    write: (name: unknown, data: unknown) => {
      const file = fileName(name);
      if (typeof data !== 'string') return mcu.unimplementedApi('Storage.write(non-string data)');
      return storage.write(file, data);
    },
    erase: (name: unknown) => storage.erase(fileName(name)),
  };
}
