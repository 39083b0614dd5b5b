/**
 * Exactly the Espruino API the firmware uses, written from Espruino's reference
 * (espruino.com/Reference) for 2v2x. Nothing else is declared, so any other API — a
 * Node one, or an Espruino one the simulator's shim does not implement — is a compile
 * error in the firmware build (firmware/tsconfig.json has no other globals: lib ES5,
 * no @types). The shim in simulator/ implements this surface and no more.
 *
 * Pins are passed as strings ("B8"): Espruino accepts a pin name wherever a Pin goes.
 */

/** The global scope: the bundle is wrapped in a function, so globals are set through it. */
declare const global: { [name: string]: unknown };

/** Espruino's timers return an id to clear them with. */
declare function setInterval(callback: () => void, ms: number): number;
declare function setTimeout(callback: () => void, ms: number): number;
declare function clearInterval(id: number): void;
declare function clearTimeout(id: number): void;

/** Seconds (float) since an arbitrary epoch; on Linux builds it is the Unix time. */
declare function getTime(): number;

type EspruinoPinMode = 'input' | 'input_pullup' | 'input_pulldown' | 'output' | 'opendrain' | 'analog' | 'auto';
declare function pinMode(pin: string, mode: EspruinoPinMode): void;
declare function digitalWrite(pin: string, value: number): void;
declare function digitalRead(pin: string): number;
/** A fraction 0..1 of the analog reference (the 3.3 V rail on a Pico). */
declare function analogRead(pin: string): number;

interface EspruinoI2C {
  setup(options: { scl: string; sda: string; bitrate?: number }): void;
  /** Throws ("I2C got NACK", "I2C Error: Timeout…") when the device does not answer. */
  writeTo(address: number, data: number | number[]): void;
  readFrom(address: number, quantity: number): Uint8Array;
}
declare const I2C1: EspruinoI2C;

interface EspruinoSerial {
  on(event: 'data', callback: (data: string) => void): void;
  write(data: string): void;
  /** Makes this device the REPL console; `true` keeps it there when USB (dis)connects. */
  setConsole(force?: boolean): void;
}
declare const USB: EspruinoSerial;
declare const Serial1: EspruinoSerial & { setup(baud: number, options?: { tx?: string; rx?: string }): void };
/** A loopback device: moving the console here frees USB for the protocol. */
declare const LoopbackA: EspruinoSerial;

/** require('Storage'), reached as global['require'] (see main.ts). */
interface EspruinoStorage {
  /** The file's contents, or undefined when it does not exist. */
  read(name: string): string | undefined;
  write(name: string, data: string): boolean;
  erase(name: string): void;
}

interface EspruinoE {
  /** Standard CRC-32 (IEEE, as zlib) of each element treated as a byte; unsigned. */
  CRC32(data: string): number;
  /** Resets the chip if not kicked within `timeout` s; isAuto=false means only kickWatchdog() feeds it. */
  enableWatchdog(timeout: number, isAuto: boolean): void;
  kickWatchdog(): void;
}
declare const E: EspruinoE;

interface EspruinoProcess {
  memory(): { free: number; usage: number; total: number };
  on(event: 'uncaughtException', callback: (error: unknown) => void): void;
  env: { VERSION: string; BOARD: string };
}
declare const process: EspruinoProcess;
