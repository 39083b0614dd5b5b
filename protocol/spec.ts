/**
 * The protocol's vocabulary, shared by the full codec (codec.ts: bridge, simulator,
 * tests) and the MCU's lean codec (mcu-codec.ts). Constants only, no code with side
 * effects, so a bundler keeps just what the firmware uses. Spec: protocol/PROTOCOL.md.
 */

export const PROTOCOL_VERSION = 1;
/** Longest accepted line, terminator excluded. */
export const MAX_LINE_LENGTH = 512;
/** Longest `msg` an encoder sends. */
export const MAX_TEXT_LENGTH = 120;

/** A CRC-32/IEEE function over a string's characters taken as bytes (E.CRC32 on the MCU). */
export type CrcFn = (text: string) => number;

export type FrameType = 'R' | 'E' | 'C' | 'A';

// ---- Why the charger is in its state (`why` in a reading) ----

/** Both latches released (battery high and sun up): charger OFF. */
export const WHY_RELEASED = 'released';
/** Battery-low latch set: charger ON. */
export const WHY_BAT_LOW = 'bat_low';
/** Sun-down latch set: charger ON. */
export const WHY_SUN_DOWN = 'sun_down';
/** Both latches set: charger ON. */
export const WHY_BAT_LOW_SUN_DOWN = 'bat_low_sun_down';
/** Host forced the charger ON (until the force expires). */
export const WHY_FORCED_ON = 'forced_on';
/** Host forced the charger OFF (until the force expires). */
export const WHY_FORCED_OFF = 'forced_off';
/** A forced OFF overridden because the battery is below the hard floor: ON. */
export const WHY_FLOOR = 'floor';
/** Held in its current state by the minimum dwell time. */
export const WHY_DWELL = 'dwell';
/** Battery or solar reading stale, missing or invalid: ON; `flt` says which. */
export const WHY_FAILSAFE = 'failsafe';
/** No valid reading yet since boot: ON. */
export const WHY_BOOT = 'boot';

export type ChargerReason =
  | typeof WHY_RELEASED | typeof WHY_BAT_LOW | typeof WHY_SUN_DOWN | typeof WHY_BAT_LOW_SUN_DOWN
  | typeof WHY_FORCED_ON | typeof WHY_FORCED_OFF | typeof WHY_FLOOR | typeof WHY_DWELL
  | typeof WHY_FAILSAFE | typeof WHY_BOOT;

// ---- Fault flags (`flt` in a reading, 4 uppercase hex digits) ----

/** I²C error talking to the battery INA219. */
export const FLT_BAT_COMM = 0x0001;
/** Battery INA219 overflow: the value was clipped and is not reported. */
export const FLT_BAT_OVF = 0x0002;
/** Battery INA219 was found reset and has been reconfigured. */
export const FLT_BAT_RESET = 0x0004;
/** Battery INA219 produced no fresh conversion. */
export const FLT_BAT_STALE = 0x0008;
export const FLT_LOAD_COMM = 0x0010;
export const FLT_LOAD_OVF = 0x0020;
export const FLT_LOAD_RESET = 0x0040;
export const FLT_LOAD_STALE = 0x0080;
/** Solar reading outside what the divider or sensor can produce. */
export const FLT_SOLAR_INVALID = 0x0100;
/** Solar reading not refreshed. */
export const FLT_SOLAR_STALE = 0x0200;
/** Stored settings or counters were corrupt, or a write failed. */
export const FLT_STORAGE = 0x0400;
/** An uncaught error happened since the previous reading. */
export const FLT_ERROR = 0x0800;
/** Bits 12–15: must be zero in v1. */
export const FLT_RESERVED = 0xf000;

const FLAG_NAMES = 'BAT_COMM BAT_OVF BAT_RESET BAT_STALE LOAD_COMM LOAD_OVF LOAD_RESET LOAD_STALE SOLAR_INVALID SOLAR_STALE STORAGE ERROR';

/** Names of the bits set in a fault word, lowest bit first (`BIT12`… for reserved bits). */
export function faultNames(flags: number): string[] {
  const names = FLAG_NAMES.split(' ');
  const out: string[] = [];
  for (let b = 0; b < 16; b++) {
    if ((flags >> b) & 1) out.push(b < names.length ? names[b] : 'BIT' + b);
  }
  return out;
}

export type ForceMode = 'auto' | 'on' | 'off';
export type EventKind = 'boot' | 'error' | 'warn' | 'info' | 'saved' | 'reset';
export type CommandName = 'status' | 'get' | 'set' | 'force' | 'save' | 'reset-energy' | 'console';

// Membership lists as '|'-delimited strings: a lookup is one indexOf, and a string
// literal costs the MCU far less memory than an array or object.
export const REASONS = '|released|bat_low|sun_down|bat_low_sun_down|forced_on|forced_off|floor|dwell|failsafe|boot|';
export const MODES = '|auto|on|off|';
export const KINDS = '|boot|error|warn|info|saved|reset|';
export const COMMANDS = '|status|get|set|force|save|reset-energy|console|';
export const BITS = '|0|1|';
export const SET_ARGS = '|bon|boff|sdn|sup|dwell|period|';
export const FORCE_ARGS = '|mode|for|';
/** A reading's structural keys; its measured values are the rows of fields.ts. */
export const READING_HEADER_KEYS = '|seq|boot|up|chg|why|mode|flt|';
export const E_KEYS = '|boot|up|kind|fw|msg|';
export const A_KEYS = '|id|ok|err|msg|';

/** "bon in 10..15": the range of an argument, for error messages. */
export function limitText(arg: string): string {
  return arg + ' in ' + LIMITS[arg][0] + '..' + LIMITS[arg][1];
}

/** Inclusive ranges of the `set` arguments and of `force … for`, checked by both codecs. */
export const LIMITS: { [arg: string]: number[] } = {
  bon: [10, 15], boff: [10, 15], sdn: [0, 30], sup: [0, 30], dwell: [0, 86400], period: [0.1, 3600], for: [1, 604800],
};
