/**
 * Records in Espruino's Storage (flash): JSON followed by `*` and its CRC-32, so a torn
 * or corrupted write is detected and ignored instead of trusted.
 */
import type { CrcFn } from '../../protocol/spec';
import { hexUpper } from '../../protocol/crc32';

export function sealRecord(value: object, crc: CrcFn): string {
  const json = JSON.stringify(value);
  return json + '*' + hexUpper(crc(json), 8);
}

/** The stored object, or null when the record is missing, torn, or fails its CRC. */
export function openRecord(text: string | undefined, crc: CrcFn): { [key: string]: unknown } | null {
  if (typeof text !== 'string') return null;
  const star = text.length - 9;
  if (star < 2 || text.charAt(star) !== '*') return null;
  const json = text.slice(0, star);
  if (hexUpper(crc(json), 8) !== text.slice(star + 1)) return null;
  try {
    const v = JSON.parse(json);
    return v !== null && typeof v === 'object' ? v : null;
  } catch (e) {
    return null;
  }
}

/** A finite number within lo..hi taken from a record, or NaN. */
export function recordNumber(o: { [key: string]: unknown }, key: string, lo: number, hi: number): number {
  const v = o[key];
  return typeof v === 'number' && v >= lo && v <= hi ? v : NaN;
}
