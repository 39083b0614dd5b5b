/**
 * The pieces every encoder is made of: a value in its wire spelling, checked so that what
 * is sent is exactly what the decoder accepts, and the frame around a body. Encoders
 * throw on input the protocol cannot represent (a programming error), except measured
 * values, which are sent as `-` when they cannot be carried.
 */
import { MAX_LINE_LENGTH } from './spec';
import type { CrcFn } from './spec';
import { crc32, hexUpper } from './crc32';
import { UINT32_MAX } from './frames';
import { inList, isDecimal, isToken, quoted, sanitizeText } from './scan';

/** How a number is spelled on the wire (decimals) and what the decoder accepts. */
export interface NumberFormat { readonly decimals: number; readonly lo: number; readonly hi: number }

export function cannotEncode(field: string, what: string): never {
  throw new Error('protocol: cannot encode ' + field + ': ' + what);
}

/**
 * Fixed decimals, checked after rounding. A value that is non-finite or out of range
 * becomes '-': the protocol cannot carry it, and a clipped number would pass for a real one.
 */
export function fixedText(x: unknown, f: NumberFormat): string {
  if (typeof x !== 'number' || !isFinite(x)) return '-';
  let s = x.toFixed(f.decimals);
  const v = parseFloat(s);
  if (!isDecimal(s) || !(v >= f.lo && v <= f.hi)) return '-';
  if (v === 0) s = (0).toFixed(f.decimals); // no "-0.000": one spelling per value
  return s;
}

/** As fixedText, for a field that has no "no value" spelling: throws instead of '-'. */
export function requiredFixedText(x: unknown, f: NumberFormat, key: string): string {
  const s = fixedText(x, f);
  if (s === '-') cannotEncode(key, quoted(x) + ' is not a number in ' + f.lo + '..' + f.hi);
  return s;
}

export function unsignedText(x: unknown, lo: number, key: string): string {
  if (typeof x !== 'number' || x % 1 !== 0 || !(x >= lo && x <= UINT32_MAX)) cannotEncode(key, quoted(x) + ' is not an integer in ' + lo + '..' + UINT32_MAX);
  return String(x);
}

/** `x` if it is a word of the '|'-delimited `list`. */
export function listWord(x: unknown, list: string, key: string): string {
  if (typeof x !== 'string' || !inList(list, x)) cannotEncode(key, quoted(x) + ' is not one of ' + list.slice(1, -1));
  return x as string;
}

export function tokenText(x: unknown, key: string): string {
  if (typeof x !== 'string' || !isToken(x)) cannotEncode(key, quoted(x) + ' is not a token');
  return x as string;
}

/** Shortest plain decimal (no exponent) that reads back as the same number; '-' if there is none. */
export function shortestDecimal(x: number): string {
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

/** `,msg=…` with the text made sendable, or nothing when there is none. */
export function msgField(msg: unknown): string {
  if (msg === undefined) return '';
  const t = sanitizeText(String(msg));
  return t.length > 0 ? ',msg=' + t : '';
}

/** `$body*CRC`, the whole line without its terminator. */
export function frameLine(body: string, crc: CrcFn | undefined): string {
  const line = '$' + body + '*' + hexUpper((crc || crc32)(body), 8);
  if (line.length > MAX_LINE_LENGTH) cannotEncode('frame', 'line of ' + line.length + ' chars exceeds ' + MAX_LINE_LENGTH);
  return line;
}
