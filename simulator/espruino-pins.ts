/**
 * The Pico's GPIO as the firmware sees it: which pins exist, which can read analog, each
 * pin's mode and output level, and what that does to the circuit outside.
 */
import type { PinDrive, PinMode } from './espruino-types';

export const PIN_MODES = new Set(['input', 'input_pullup', 'input_pulldown', 'output', 'opendrain', 'analog', 'auto']);

/** Pins an Espruino Pico brings out (and its on-board LED/button pins). */
export const PICO_PINS = new Set([
  'A0', 'A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7', 'A8', 'A9', 'A10', 'A13', 'A14', 'A15',
  'B0', 'B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B9', 'B10', 'B12', 'B13', 'B14', 'B15',
  'C13', 'C14', 'C15',
]);
/** ADC-capable Pico pins. */
export const PICO_ANALOG = new Set(['A0', 'A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7', 'B0', 'B1']);
/** I2C1 can sit on B6/B7 or B8/B9. */
export const I2C1_PINS = [['B6', 'B7'], ['B8', 'B9']];

export interface PinState {
  mode: PinMode;
  /** Set by pinMode: digitalWrite/Read then leave the mode alone. */
  manual: boolean;
  out: 0 | 1;
}

export class PinBank {
  private readonly pins = new Map<string, PinState>();

  /** The state of a pin, created as a floating input on first use; `invalid` makes the error for a pin the Pico lacks. */
  state(name: string, invalid: (message: string) => Error): PinState {
    if (!PICO_PINS.has(name)) throw invalid(`Invalid pin! (${name})`);
    let s = this.pins.get(name);
    if (!s) {
      s = { mode: 'input', manual: false, out: 0 };
      this.pins.set(name, s);
    }
    return s;
  }

  /** What a pin does electrically right now. */
  drive(name: string): PinDrive {
    const s = this.pins.get(name);
    if (!s) return 'float';
    switch (s.mode) {
      case 'output': return s.out ? 'high' : 'low';
      case 'opendrain': return s.out ? 'float' : 'low';
      case 'input_pullup': return 'pullup';
      case 'input_pulldown': return 'pulldown';
      default: return 'float';
    }
  }

  /** A reset: every pin floats again. */
  clear(): void {
    this.pins.clear();
  }
}
