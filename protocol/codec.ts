/**
 * Serial protocol v1 between the MCU and its host: line frames a person can read in a
 * terminal and a machine can trust. The wire format is specified in protocol/PROTOCOL.md.
 *
 * This is the full codec: every frame type, every field validated, for the bridge, the
 * simulator and the tests. Its vocabulary (spec.ts), command validation and
 * line splitter are shared with the MCU, whose lean encoder lives in mcu-codec.ts
 * because the whole firmware must fit in 12 KB. Pure: no I/O, no clock, no state other
 * than the CRC table built on first use.
 *
 * It uses no regular expressions: Espruino's RegExp has no `?`, `{n}` or grouped
 * quantifiers and recurses once per character, so hand-written scanners are the only
 * validation that behaves the same on the MCU and in Node (and they are faster in V8).
 */

import {
  MAX_LINE_LENGTH, MAX_TEXT_LENGTH, FLT_RESERVED, REASONS, MODES, KINDS, COMMANDS, BITS, SET_ARGS, FORCE_ARGS, R_KEYS, E_KEYS, A_KEYS, LIMITS,
} from './spec';
import type {
  CrcFn, FrameType, ChargerReason, ForceMode, EventKind, CommandName,
} from './spec';
export {
  PROTOCOL_VERSION, MAX_LINE_LENGTH, MAX_TEXT_LENGTH, WHY_RELEASED, WHY_BAT_LOW, WHY_SUN_DOWN, WHY_BAT_LOW_SUN_DOWN, WHY_FORCED_ON, WHY_FORCED_OFF, WHY_FLOOR, WHY_DWELL, WHY_FAILSAFE, WHY_BOOT, FLT_BAT_COMM, FLT_BAT_OVF, FLT_BAT_RESET, FLT_BAT_STALE, FLT_LOAD_COMM, FLT_LOAD_OVF, FLT_LOAD_RESET, FLT_LOAD_STALE, FLT_SOLAR_INVALID, FLT_SOLAR_STALE, FLT_STORAGE, FLT_ERROR, FLT_RESERVED, faultNames,
} from './spec';
export { LineSplitter } from './line-splitter';
export { crc32 } from './crc32';
import { crc32, hexUpper } from './crc32';
export type {
  CrcFn, FrameType, ChargerReason, ForceMode, EventKind, CommandName,
} from './spec';

// ---- Frames ----

/** A measured quantity; null is sent as `-` (no value, e.g. a failed sensor). */
export type Value = number | null;
/** Keys a v1 peer does not know (kept, not rejected) and reply result data. */
export interface ExtraFields { [key: string]: number | string | null }

export interface Reading {
  /** Poll counter, 1 at each boot. */
  seq: number;
  /** Persistent boot counter; (boot, seq) identifies a reading. */
  boot: number;
  /** Seconds since boot. */
  up: number;
  /** Battery V, A (+ = charging), W. */
  bv: Value; ba: Value; bw: Value;
  /** Load V, A, W. */
  lv: Value; la: Value; lw: Value;
  /** Solar panel V; A and W only when a third INA219 measures the panel. */
  sv: Value; sa?: Value; sw?: Value;
  /** Charger ON = 1. */
  chg: 0 | 1;
  why: ChargerReason;
  mode: ForceMode;
  /** FLT_* bits. */
  flt: number;
  /** Battery Ah and Wh in (charge) and out (discharge). */
  bahi: Value; baho: Value; bwhi: Value; bwho: Value;
  /** Load Ah and Wh in (back-fed) and out (delivered). */
  lahi: Value; laho: Value; lwhi: Value; lwho: Value;
}
export interface ReadingFrame extends Reading { type: 'R'; extra?: ExtraFields }

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

// ---- Character classes ----

function isDigit(c: number): boolean { return c >= 48 && c <= 57; }
function isLower(c: number): boolean { return c >= 97 && c <= 122; }

/** `-?digits(.digits)?` */
function isDecimal(s: string): boolean {
  const n = s.length;
  let i = s.charCodeAt(0) === 45 ? 1 : 0;
  const intStart = i;
  while (i < n && isDigit(s.charCodeAt(i))) i++;
  if (i === intStart) return false;
  if (i === n) return true;
  if (s.charCodeAt(i) !== 46) return false;
  const fracStart = ++i;
  while (i < n && isDigit(s.charCodeAt(i))) i++;
  return i > fracStart && i === n;
}

function isUnsigned(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return true;
}

/** `[A-Za-z0-9_.:/+-]+` */
function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!(isDigit(c) || isLower(c) || (c >= 65 && c <= 90) || c === 95 || c === 46 || c === 58 || c === 47 || c === 43 || c === 45)) return false;
  }
  return true;
}

/** `[a-z][a-z0-9_]*` */
function isKey(s: string): boolean {
  if (s.length === 0 || !isLower(s.charCodeAt(0))) return false;
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!(isLower(c) || isDigit(c) || c === 95)) return false;
  }
  return true;
}

/** Free text may hold any printable ASCII except the three framing characters. */
function isTextChar(c: number): boolean {
  return c >= 32 && c <= 126 && c !== 36 && c !== 42 && c !== 44;
}

function isPrintable(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c > 126) return false;
  }
  return true;
}

function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 32 && (c < 9 || c > 13)) return false;
  }
  return true;
}

function isHex(s: string, from: number, count: number, upperOnly: boolean): boolean {
  if (s.length !== from + count) return false;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!(isDigit(c) || (c >= 65 && c <= 70) || (!upperOnly && c >= 97 && c <= 102))) return false;
  }
  return true;
}

function inList(list: string, v: string): boolean {
  // Tokens and keys cannot contain '|', so a match is always a whole entry.
  return isToken(v) && list.indexOf('|' + v + '|') >= 0;
}

function hasOwn(o: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

/** Replace what text may not contain with '_' and cut it to MAX_TEXT_LENGTH. */
export function sanitizeText(text: string): string {
  const n = text.length < MAX_TEXT_LENGTH ? text.length : MAX_TEXT_LENGTH;
  let i = 0;
  while (i < n && isTextChar(text.charCodeAt(i))) i++;
  if (i === n) return text.length === n ? text : text.slice(0, n);
  let out = text.slice(0, i);
  for (; i < n; i++) out += isTextChar(text.charCodeAt(i)) ? text.charAt(i) : '_';
  return out;
}

/** A value quoted in an error detail: short and printable whatever it was. */
function show(v: unknown): string {
  const s = typeof v === 'string' ? v : String(v);
  let out = '';
  for (let i = 0; i < s.length && i < 24; i++) out += isTextChar(s.charCodeAt(i)) ? s.charAt(i) : '?';
  return s.length > 24 ? out + '...' : out;
}

// ---- Units: decimals on the wire and accepted range ----

interface Unit { d: number; lo: number; hi: number }
const VOLTS: Unit = { d: 3, lo: 0, hi: 40 };
const AMPS: Unit = { d: 4, lo: -250, hi: 250 };
const WATTS: Unit = { d: 2, lo: -10000, hi: 10000 };
const AMP_HOURS: Unit = { d: 4, lo: 0, hi: 1e9 };
const WATT_HOURS: Unit = { d: 3, lo: 0, hi: 1e9 };
const SECONDS: Unit = { d: 3, lo: 0, hi: 1e9 };
const UINT32_MAX = 4294967295;

const POWER_KEYS = ['bv', 'ba', 'bw', 'lv', 'la', 'lw', 'sv', 'sa', 'sw'];
const ENERGY_KEYS = ['bahi', 'baho', 'bwhi', 'bwho', 'lahi', 'laho', 'lwhi', 'lwho'];

/** The unit follows from the key's shape: xv/xa/xw for power, xahi/xwho… for energy. */
function unitOf(key: string): Unit {
  const c = key.charAt(1);
  if (key.length === 2) return c === 'v' ? VOLTS : c === 'a' ? AMPS : WATTS;
  return c === 'a' ? AMP_HOURS : WATT_HOURS;
}

// ---- Encoding ----

type AnyMap = { [key: string]: unknown };

function fail(field: string, what: string): never {
  throw new Error('protocol: cannot encode ' + field + ': ' + what);
}

/**
 * Fixed decimals, checked after rounding so what is sent is exactly what the decoder
 * accepts. A value that is non-finite or out of range becomes '-': the protocol cannot
 * carry it, and a clipped number would pass for a real one.
 */
function fixed(x: unknown, u: Unit): string {
  if (typeof x !== 'number' || !isFinite(x)) return '-';
  let s = x.toFixed(u.d);
  const v = parseFloat(s);
  if (!isDecimal(s) || !(v >= u.lo && v <= u.hi)) return '-';
  if (v === 0) s = (0).toFixed(u.d); // no "-0.000": one spelling per value
  return s;
}

function requiredFixed(x: unknown, u: Unit, key: string): string {
  const s = fixed(x, u);
  if (s === '-') fail(key, show(x) + ' is not a number in ' + u.lo + '..' + u.hi);
  return s;
}

function uint(x: unknown, lo: number, key: string): string {
  if (typeof x !== 'number' || x % 1 !== 0 || !(x >= lo && x <= UINT32_MAX)) fail(key, show(x) + ' is not an integer in ' + lo + '..' + UINT32_MAX);
  return String(x);
}

function listed(x: unknown, list: string, key: string): string {
  if (typeof x !== 'string' || !inList(list, x)) fail(key, show(x) + ' is not one of ' + list.slice(1, -1));
  return x as string;
}

function token(x: unknown, key: string): string {
  if (typeof x !== 'string' || !isToken(x)) fail(key, show(x) + ' is not a token');
  return x as string;
}

/** Shortest plain decimal that reads back as the same number; '-' if there is none. */
function plain(x: number): string {
  if (!isFinite(x)) return '-';
  const s = String(x);
  if (isDecimal(s)) return s;
  // String() chose an exponent (tiny or huge): spell it out with the fewest decimals
  // that survive the trip back.
  for (let d = 1; d <= 20; d++) {
    const t = x.toFixed(d);
    if (!isDecimal(t)) return '-';
    if (parseFloat(t) === x) return t;
  }
  return '-';
}

function textField(msg: unknown): string {
  if (msg === undefined) return '';
  const t = sanitizeText(String(msg));
  return t.length > 0 ? ',msg=' + t : '';
}

function seal(body: string, crc: CrcFn | undefined): string {
  const line = '$' + body + '*' + hexUpper((crc || crc32)(body), 8);
  if (line.length > MAX_LINE_LENGTH) fail('frame', 'line of ' + line.length + ' chars exceeds ' + MAX_LINE_LENGTH);
  return line;
}

/**
 * Each encoder returns one line without its '\n'. It throws on input the protocol cannot
 * represent (a wrong seq, reason, token…: a programming error), except measured values,
 * which are sent as '-' when null, non-finite or out of range.
 */
export function encodeReading(r: Reading, crc?: CrcFn): string {
  const m = r as unknown as AnyMap;
  let s = 'R,v=1,seq=' + uint(r.seq, 1, 'seq') + ',boot=' + uint(r.boot, 0, 'boot') + ',up=' + requiredFixed(r.up, SECONDS, 'up');
  for (let i = 0; i < POWER_KEYS.length; i++) {
    const k = POWER_KEYS[i];
    if ((k === 'sa' || k === 'sw') && m[k] === undefined) continue;
    s += ',' + k + '=' + fixed(m[k], unitOf(k));
  }
  if (r.chg !== 0 && r.chg !== 1) fail('chg', show(r.chg) + ' is not 0 or 1');
  const flt = r.flt;
  if (typeof flt !== 'number' || flt % 1 !== 0 || flt < 0 || flt > 0xffff || (flt & FLT_RESERVED) !== 0) fail('flt', show(flt) + ' is not a v1 fault word');
  let hex = flt.toString(16).toUpperCase();
  while (hex.length < 4) hex = '0' + hex;
  s += ',chg=' + r.chg + ',why=' + listed(r.why, REASONS, 'why') + ',mode=' + listed(r.mode, MODES, 'mode') + ',flt=' + hex;
  for (let i = 0; i < ENERGY_KEYS.length; i++) {
    const k = ENERGY_KEYS[i];
    s += ',' + k + '=' + fixed(m[k], unitOf(k));
  }
  return seal(s, crc);
}

export function encodeEvent(e: EventInfo, crc?: CrcFn): string {
  let s = 'E,v=1,boot=' + uint(e.boot, 0, 'boot') + ',up=' + requiredFixed(e.up, SECONDS, 'up') + ',kind=' + listed(e.kind, KINDS, 'kind');
  if (e.fw !== undefined) s += ',fw=' + token(e.fw, 'fw');
  return seal(s + textField(e.msg), crc);
}

const COMMAND_ARGS = ['bon', 'boff', 'sdn', 'sup', 'dwell', 'period', 'mode', 'for'];

/** Validates like the decoder will (throws if it would not accept it), then encodes. */
export function encodeCommand(c: Command & { id: number }, crc?: CrcFn): string {
  const src = c as unknown as AnyMap;
  const wire: AnyMap = { cmd: c.cmd };
  let s = 'C,v=1,id=' + uint(c.id, 1, 'id') + ',cmd=' + token(c.cmd, 'cmd');
  for (let i = 0; i < COMMAND_ARGS.length; i++) {
    const k = COMMAND_ARGS[i];
    const v = src[k];
    if (v === undefined) continue;
    const w = typeof v === 'number' ? plain(v) : typeof v === 'string' ? v : '';
    wire[k] = w;
    s += ',' + k + '=' + w;
  }
  // The wire strings themselves are checked, so rounding in plain() cannot slip through.
  const check = checkCommand(wire);
  if (!check.ok) fail('command', check.reason + ': ' + check.detail);
  return seal(s, crc);
}

export function encodeReply(r: Reply, crc?: CrcFn): string {
  let s = 'A,v=1,id=' + uint(r.id, 0, 'id');
  if (r.ok === 1) {
    if (r.err !== undefined) fail('err', 'only a failed reply (ok=0) carries err');
    s += ',ok=1';
  } else if (r.ok === 0) {
    if (r.err === undefined) fail('err', 'a failed reply (ok=0) needs err');
    s += ',ok=0,err=' + token(r.err, 'err');
  } else {
    fail('ok', show(r.ok) + ' is not 0 or 1');
  }
  s += textField(r.msg);
  const data = r.data;
  if (data) {
    for (const k in data) {
      if (!hasOwn(data, k)) continue;
      const v = data[k];
      if (v === undefined) continue;
      if (!isKey(k) || A_KEYS.indexOf('|' + k + '|') >= 0 || k === 'v') fail('data', show(k) + ' is not a free key');
      let w: string;
      if (v === null) w = '-';
      else if (typeof v === 'number') w = plain(v);
      else {
        // A string that reads as a number or '-' would come back as one.
        if (typeof v !== 'string' || !isToken(v) || v === '-' || isDecimal(v)) fail(k, show(v) + ' is not a non-numeric token');
        w = v as string;
      }
      s += ',' + k + '=' + w;
    }
  }
  return seal(s, crc);
}

// ---- Decoding ----

function reject(reason: RejectReason, detail: string, type?: FrameType, id?: number): DecodeFailure {
  const r: DecodeFailure = { ok: false, reason: reason, detail: detail };
  if (type !== undefined) r.type = type;
  if (id !== undefined) r.id = id;
  return r;
}

/**
 * Reads fields from a map of wire strings (decoder) or of JSON values (validateCommand)
 * and keeps the first error, so decoders read straight through without a check per field.
 */
class Fields {
  err: DecodeFailure | null = null;
  /** Known keys found so far: when it equals the key count there are no others to scan. */
  seen = 0;
  constructor(readonly f: AnyMap, readonly type: FrameType) {}

  failure(): DecodeFailure | null { return this.err; }

  has(k: string): boolean { return hasOwn(this.f, k) && this.f[k] !== undefined; }

  fail(reason: RejectReason, detail: string): void {
    if (!this.err) this.err = reject(reason, detail, this.type);
  }

  raw(k: string): unknown {
    if (this.has(k)) { this.seen++; return this.f[k]; }
    this.fail('missing_field', 'field ' + k + ' missing');
    return undefined;
  }

  range(k: string, v: unknown, lo: number, hi: number, integer: boolean): number {
    let x: number;
    if (typeof v === 'number' && (!integer || v % 1 === 0)) x = v;
    else if (typeof v === 'string' && (integer ? isUnsigned(v) : isDecimal(v))) x = parseFloat(v) + 0; // + 0 turns -0 into 0
    else {
      this.fail('bad_value', 'field ' + k + ': ' + show(v) + (integer ? ' is not an unsigned integer' : ' is not a number'));
      return 0;
    }
    if (!(x >= lo && x <= hi)) {
      this.fail(x !== x ? 'bad_value' : 'out_of_range', 'field ' + k + ': ' + show(v) + ' outside ' + lo + '..' + hi);
      return 0;
    }
    return x;
  }

  num(k: string, lo: number, hi: number): number {
    const v = this.raw(k);
    return v === undefined ? 0 : this.range(k, v, lo, hi, false);
  }

  int(k: string, lo: number, hi: number): number {
    const v = this.raw(k);
    return v === undefined ? 0 : this.range(k, v, lo, hi, true);
  }

  /** A measured quantity; its unit comes from the key. */
  val(k: string): Value {
    const v = this.raw(k);
    if (v === undefined) return null;
    if (v === '-') return null;
    const u = unitOf(k);
    return this.range(k, v, u.lo, u.hi, false);
  }

  pick(k: string, list: string): string {
    const v = this.raw(k);
    if (v === undefined) return '';
    if (typeof v === 'string' && inList(list, v)) return v;
    this.fail('bad_value', 'field ' + k + ': ' + show(v) + ' is not one of ' + list.slice(1, -1));
    return '';
  }

  token(k: string): string {
    const v = this.raw(k);
    if (v === undefined) return '';
    if (typeof v === 'string' && isToken(v)) return v;
    this.fail('bad_value', 'field ' + k + ': ' + show(v) + ' is not a token');
    return '';
  }

  /** Keys outside `known`, in line order, parsed as number, null or token. */
  others(keys: string[], known: string): ExtraFields | undefined {
    let out: ExtraFields | undefined;
    if (keys.length === this.seen) return out;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      if (known.indexOf('|' + k + '|') >= 0) continue;
      const v = this.f[k] as string;
      let x: number | string | null;
      if (v === '-') x = null;
      else if (isDecimal(v)) {
        x = parseFloat(v) + 0;
        if (!isFinite(x)) this.fail('out_of_range', 'field ' + k + ': ' + show(v) + ' too large');
      } else if (isToken(v)) x = v;
      else {
        this.fail('bad_value', 'field ' + k + ': ' + show(v) + ' is not a number or token (free text is only allowed in msg)');
        x = null;
      }
      if (!out) out = {};
      out[k] = x;
    }
    return out;
  }
}

function decodeReading(c: Fields, keys: string[]): DecodeResult {
  const r: ReadingFrame = {
    type: 'R',
    seq: c.int('seq', 1, UINT32_MAX),
    boot: c.int('boot', 0, UINT32_MAX),
    up: c.num('up', SECONDS.lo, SECONDS.hi),
    bv: c.val('bv'), ba: c.val('ba'), bw: c.val('bw'),
    lv: c.val('lv'), la: c.val('la'), lw: c.val('lw'),
    sv: c.val('sv'),
    chg: c.pick('chg', BITS) === '1' ? 1 : 0,
    why: c.pick('why', REASONS) as ChargerReason,
    mode: c.pick('mode', MODES) as ForceMode,
    flt: 0,
    bahi: c.val('bahi'), baho: c.val('baho'), bwhi: c.val('bwhi'), bwho: c.val('bwho'),
    lahi: c.val('lahi'), laho: c.val('laho'), lwhi: c.val('lwhi'), lwho: c.val('lwho'),
  };
  if (c.has('sa')) r.sa = c.val('sa');
  if (c.has('sw')) r.sw = c.val('sw');
  const flt = c.raw('flt');
  if (typeof flt === 'string') {
    if (!isHex(flt, 0, 4, true)) c.fail('bad_value', 'field flt: ' + show(flt) + ' is not 4 uppercase hex digits');
    else {
      r.flt = parseInt(flt, 16);
      if (r.flt & FLT_RESERVED) c.fail('out_of_range', 'field flt: ' + flt + ' sets reserved bits 12-15');
    }
  }
  const extra = c.others(keys, R_KEYS);
  if (extra) r.extra = extra;
  return c.err || { ok: true, frame: r };
}

function decodeEvent(c: Fields, keys: string[]): DecodeResult {
  const e: EventFrame = {
    type: 'E',
    boot: c.int('boot', 0, UINT32_MAX),
    up: c.num('up', SECONDS.lo, SECONDS.hi),
    kind: c.pick('kind', KINDS) as EventKind,
  };
  if (c.has('fw')) e.fw = c.token('fw');
  if (c.has('msg')) e.msg = c.f['msg'] as string;
  const extra = c.others(keys, E_KEYS);
  if (extra) e.extra = extra;
  return c.err || { ok: true, frame: e };
}

function decodeReply(c: Fields, keys: string[]): DecodeResult {
  const r: ReplyFrame = {
    type: 'A',
    id: c.int('id', 0, UINT32_MAX),
    ok: c.pick('ok', BITS) === '1' ? 1 : 0,
  };
  if (c.has('err')) {
    if (r.ok === 1) c.fail('bad_value', 'field err: only a failed reply (ok=0) carries err');
    else r.err = c.token('err');
  } else if (!c.err && r.ok === 0) {
    c.fail('missing_field', 'field err missing (required when ok=0)');
  }
  if (c.has('msg')) r.msg = c.f['msg'] as string;
  const data = c.others(keys, A_KEYS);
  if (data) r.data = data;
  return c.err || { ok: true, frame: r };
}

function decodeCommand(c: Fields, keys: string[]): DecodeResult {
  const id = c.int('id', 1, UINT32_MAX);
  if (c.err) return c.err;
  const args: AnyMap = {};
  for (let i = 0; i < keys.length; i++) if (keys[i] !== 'id') args[keys[i]] = c.f[keys[i]];
  const check = checkCommand(args);
  if (!check.ok) return reject(check.reason, check.detail, 'C', id);
  const frame = check.command as CommandFrame;
  frame.type = 'C';
  frame.id = id;
  return { ok: true, frame: frame };
}

/** The decoder proper; decodeLine has already made sure it is given a string. */
function decode(input: string, crc: CrcFn): DecodeResult {
  let line = input;
  let end = line.length;
  if (end > 0 && line.charCodeAt(end - 1) === 10) end--;
  if (end > 0 && line.charCodeAt(end - 1) === 13) end--;
  // Checked before anything scans the line, so a huge string costs nothing.
  if (end > MAX_LINE_LENGTH) return reject('too_long', 'line of ' + end + ' chars exceeds ' + MAX_LINE_LENGTH);
  if (end !== line.length) line = line.slice(0, end);
  if (isBlank(line)) return reject('empty', 'empty line');

  // Console prompts, echo and half-lines end up before the last '$'.
  const start = line.lastIndexOf('$');
  if (start < 0) return reject('noise', 'no $ on the line');
  const star = line.length - 9;
  if (star <= start || line.charCodeAt(star) !== 42 || !isHex(line, star + 1, 8, false)) {
    return reject('truncated', 'frame does not end in * and 8 hex digits');
  }
  if (!isHex(line, star + 1, 8, true)) return reject('bad_crc', 'CRC must be 8 uppercase hex digits');
  const body = line.slice(start + 1, star);
  const sent = line.slice(star + 1);
  const got = hexUpper(crc(body), 8);
  if (got !== sent) return reject('bad_crc', 'CRC is ' + sent + ' but the frame gives ' + got);
  // After the CRC, so damage in transit is counted as bad_crc rather than malformed.
  if (!isPrintable(body)) return reject('malformed', 'control or non-ASCII character in the frame');

  const parts = body.split(',');
  if (parts.length < 2 || parts[1].slice(0, 2) !== 'v=') return reject('missing_field', 'v must be the first field after the type');
  const version = parts[1].slice(2);
  if (version !== '1') return reject('bad_version', 'version ' + show(version) + ', this decoder reads v1');
  const type = parts[0];
  if (type !== 'R' && type !== 'E' && type !== 'C' && type !== 'A') return reject('unknown_type', 'type ' + show(type));
  const t = type as FrameType;

  const map: AnyMap = {};
  const keys: string[] = [];
  for (let i = 2; i < parts.length; i++) {
    const p = parts[i];
    const eq = p.indexOf('=');
    if (eq < 0) return reject('malformed', 'field #' + (i + 1) + ' (' + show(p) + ') has no =', t);
    const k = p.slice(0, eq);
    const v = p.slice(eq + 1);
    if (!isKey(k)) return reject('malformed', 'field #' + (i + 1) + ': bad key ' + show(k), t);
    if (v.length === 0) return reject('malformed', 'field ' + k + ': empty value', t);
    if (v.indexOf('*') >= 0) return reject('malformed', 'field ' + k + ': * inside a value', t);
    if (k === 'v' || hasOwn(map, k)) return reject('duplicate_field', 'field ' + k + ' appears twice', t);
    map[k] = v;
    keys.push(k);
  }
  const c = new Fields(map, t);
  if (t === 'R') return decodeReading(c, keys);
  if (t === 'E') return decodeEvent(c, keys);
  if (t === 'C') return decodeCommand(c, keys);
  return decodeReply(c, keys);
}

/**
 * Decodes one line (a trailing "\n", "\r\n" or "\r" is ignored). Never throws: every
 * problem is a { ok: false, reason, detail }. Pass E.CRC32 as `crc` on the MCU.
 */
export function decodeLine(line: string, crc?: CrcFn): DecodeResult {
  if (typeof line !== 'string') return reject('malformed', 'not a string');
  try {
    return decode(line, crc || crc32);
  } catch (e) {
    // Every input is validated above; this only shields the caller's read loop from a
    // throwing crc function or a case nobody foresaw.
    return reject('malformed', 'decoder error');
  }
}

// ---- Commands ----

function limited(c: Fields, arg: string): number {
  return c.num(arg, LIMITS[arg][0], LIMITS[arg][1]);
}

function checkCommand(input: unknown): CommandCheck {
  if (typeof input !== 'object' || input === null) return { ok: false, reason: 'malformed', detail: 'a command must be an object' };
  const o = input as AnyMap;
  const c = new Fields(o, 'C');
  const name = c.pick('cmd', COMMANDS) as CommandName;
  if (c.err) return { ok: false, reason: c.err.reason, detail: c.err.detail };
  const takes = name === 'set' ? SET_ARGS : name === 'force' ? FORCE_ARGS : '|';
  for (const k in o) {
    if (k === 'cmd' || !hasOwn(o, k) || o[k] === undefined) continue;
    if (!isKey(k) || takes.indexOf('|' + k + '|') < 0) return { ok: false, reason: 'bad_value', detail: name + ' does not take ' + show(k) };
  }
  let command: Command;
  if (name === 'set') {
    const s: SetCommand = { cmd: 'set' };
    if (c.has('bon')) s.bon = limited(c, 'bon');
    if (c.has('boff')) s.boff = limited(c, 'boff');
    if (c.has('sdn')) s.sdn = limited(c, 'sdn');
    if (c.has('sup')) s.sup = limited(c, 'sup');
    if (c.has('dwell')) s.dwell = limited(c, 'dwell');
    if (c.has('period')) s.period = limited(c, 'period');
    if (!c.err) {
      if (s.bon === undefined && s.boff === undefined && s.sdn === undefined && s.sup === undefined && s.dwell === undefined && s.period === undefined) {
        c.fail('missing_field', 'set needs at least one of bon boff sdn sup dwell period');
      } else if (s.bon !== undefined && s.boff !== undefined && !(s.bon < s.boff)) {
        c.fail('bad_value', 'bon ' + s.bon + ' must be below boff ' + s.boff);
      } else if (s.sdn !== undefined && s.sup !== undefined && !(s.sdn < s.sup)) {
        c.fail('bad_value', 'sdn ' + s.sdn + ' must be below sup ' + s.sup);
      }
    }
    command = s;
  } else if (name === 'force') {
    const f: ForceCommand = { cmd: 'force', mode: c.pick('mode', MODES) as ForceMode };
    if (!c.err) {
      if (f.mode === 'auto') {
        if (c.has('for')) c.fail('bad_value', 'force auto takes no for');
      } else if (!c.has('for')) {
        c.fail('missing_field', 'force ' + f.mode + ' needs for (seconds)');
      } else {
        f['for'] = limited(c, 'for');
      }
    }
    command = f;
  } else {
    command = { cmd: name };
  }
  // Through a call: the early return above made TypeScript narrow c.err to null.
  const err = c.failure();
  return err ? { ok: false, reason: err.reason, detail: err.detail } : { ok: true, command: command };
}

/**
 * Validates a command given as { cmd, ...arguments } under their wire names (no id),
 * with numbers as numbers or decimal strings. The bridge runs MQTT commands through it
 * before forwarding; the decoder applies exactly the same rules to C frames.
 */
export function validateCommand(input: unknown): CommandCheck {
  try {
    return checkCommand(input);
  } catch (e) {
    // Only reachable through hostile objects (throwing getters, odd prototypes).
    return { ok: false, reason: 'malformed', detail: 'unreadable command' };
  }
}
