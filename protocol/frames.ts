/**
 * The four frames of protocol v1 as the host's codec hands them out, and what a decoder
 * says when it refuses a line. Types only. The reading's measured values come from the
 * field table (fields.ts), so a new row there is a new property here.
 */
import type { ChargerReason, EventKind, ForceMode, FrameType } from './spec';
import type { OptionalFieldKey, RequiredFieldKey } from './fields';

/** A measured quantity; null is sent as `-` (no value, e.g. a failed sensor). */
export type Value = number | null;
/** Keys a v1 peer does not know (kept, not rejected) and reply result data. */
export interface ExtraFields { [key: string]: number | string | null }

/** The reading's structural fields; its measured values are ReadingValues. */
export interface ReadingHeader {
  /** Poll counter, 1 at each boot. */
  seq: number;
  /** Persistent boot counter; (boot, seq) identifies a reading. */
  boot: number;
  /** Seconds since boot. */
  up: number;
  /** Charger ON = 1. */
  chg: 0 | 1;
  why: ChargerReason;
  mode: ForceMode;
  /** FLT_* bits. */
  flt: number;
}

/**
 * One property per row of READING_FIELDS: battery/load/solar V, A (+ = into the battery),
 * W, and the Ah/Wh counters in and out. Optional rows (solar A and W, only with a third
 * INA219) are optional properties.
 */
export type ReadingValues = { [K in RequiredFieldKey]: Value } & { [K in OptionalFieldKey]?: Value };

export type Reading = ReadingHeader & ReadingValues;
export type ReadingFrame = Reading & { type: 'R'; extra?: ExtraFields };

export interface EventInfo {
  boot: number;
  up: number;
  kind: EventKind;
  /** Firmware version token. */
  fw?: string;
  /** Free text. */
  msg?: string;
}
export interface EventFrame extends EventInfo { type: 'E'; extra?: ExtraFields }

export interface SimpleCommand { cmd: 'status' | 'get' | 'save' | 'reset-energy' | 'console' }
export interface SetCommand {
  cmd: 'set';
  /** Battery V below which the battery latch sets (charger ON), 10..15, below boff. */
  bon?: number;
  /** Battery V above which it releases, 10..15. */
  boff?: number;
  /** Panel V below which the sun-down latch sets, 0..30, below sup. */
  sdn?: number;
  /** Panel V above which it releases, 0..30. */
  sup?: number;
  /** Minimum seconds between charger switchings, 0..86400. */
  dwell?: number;
  /** Poll period in seconds, 0.1..3600. */
  period?: number;
}
export interface ForceCommand {
  cmd: 'force';
  mode: ForceMode;
  /** Seconds the force lasts, 1..604800; present for on/off, absent for auto. */
  for?: number;
}
/** A validated command; argument names are the wire keys. */
export type Command = SimpleCommand | SetCommand | ForceCommand;
export type CommandFrame = Command & { type: 'C'; id: number };

export interface Reply {
  /** The id of the command answered. */
  id: number;
  ok: 0 | 1;
  /** Error token, required when ok = 0, absent when ok = 1. */
  err?: string;
  msg?: string;
  /** Result values (numbers, null or tokens). */
  data?: ExtraFields;
}
export interface ReplyFrame extends Reply { type: 'A' }

export type Frame = ReadingFrame | EventFrame | CommandFrame | ReplyFrame;

export type RejectReason =
  | 'empty' | 'noise' | 'too_long' | 'truncated' | 'bad_crc' | 'bad_version' | 'unknown_type'
  | 'malformed' | 'missing_field' | 'duplicate_field' | 'bad_value' | 'out_of_range';

export interface DecodeFailure {
  ok: false;
  reason: RejectReason;
  detail: string;
  /** The frame type, once the CRC and type were good. */
  type?: FrameType;
  /** A command's id when only its arguments were wrong, so the MCU can answer it (ok=0). */
  id?: number;
}
export type DecodeResult = { ok: true; frame: Frame } | DecodeFailure;
export type CommandCheck = { ok: true; command: Command } | { ok: false; reason: RejectReason; detail: string };

/** Largest seq, boot and id: they are unsigned 32-bit counters. */
export const UINT32_MAX = 4294967295;
/** `up`, seconds since boot: decimals on the wire and accepted range. */
export const UPTIME = { decimals: 3, lo: 0, hi: 1e9 } as const;

