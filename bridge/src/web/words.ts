/**
 * The protocol's tokens in words a person reads on the page. Pure. The tokens themselves
 * live in protocol/spec.ts; this only says them in English.
 */
import { ChargerReason, faultNames } from '../../../protocol';

const REASON_WORDS: { [r in ChargerReason]: string } = {
  released: 'battery charged and sun up',
  bat_low: 'battery low',
  sun_down: 'sun down',
  bat_low_sun_down: 'battery low and sun down',
  forced_on: 'forced ON',
  forced_off: 'forced OFF',
  floor: 'battery at its floor (overrides forced OFF)',
  dwell: 'held by the minimum switching interval',
  failsafe: 'fail-safe: a reading is missing or stale',
  boot: 'starting up: no valid reading yet',
};

export function reasonWords(why: string): string {
  return (REASON_WORDS as { [k: string]: string })[why] ?? `unknown reason "${why}"`;
}

const FAULT_WORDS: { [name: string]: string } = {
  BAT_COMM: 'battery sensor not answering',
  BAT_OVF: 'battery sensor overflow',
  BAT_RESET: 'battery sensor was reset',
  BAT_STALE: 'battery sensor reading stale',
  LOAD_COMM: 'load sensor not answering',
  LOAD_OVF: 'load sensor overflow',
  LOAD_RESET: 'load sensor was reset',
  LOAD_STALE: 'load sensor reading stale',
  SOLAR_INVALID: 'panel voltage out of range',
  SOLAR_STALE: 'panel voltage stale',
  STORAGE: 'MCU storage error',
  ERROR: 'MCU program error',
};

/** One phrase per bit set in the fault word. */
export function faultWords(flags: number): string[] {
  return faultNames(flags).map((n) => FAULT_WORDS[n] ?? `reserved fault bit ${n}`);
}

export function modeWords(mode: string): string {
  return mode === 'auto' ? 'automatic' : mode === 'on' ? 'forced ON' : mode === 'off' ? 'forced OFF' : mode;
}
