/**
 * What the bridge stores in a spool record: the decoded frame and the timestamp it was
 * given, as JSON: `{"ts":1795572126289,"frame":{"type":"R","seq":42,…}}`. Pure.
 *
 * The frame was fully validated (CRC, every field) before it was spooled, and the record
 * has its own CRC, so sinks read it back with JSON.parse instead of running the protocol
 * decoder again: several times cheaper per frame, which is most of the bridge's CPU.
 */
import type { EventFrame, ReadingFrame } from '../../../protocol';

export interface SpooledFrame {
  /** Milliseconds since the epoch, from the boot anchor (see ingest/boot-clock.ts). */
  ts: number;
  frame: ReadingFrame | EventFrame;
}

export function encodeSpooledFrame(ts: number, frame: ReadingFrame | EventFrame): string {
  return JSON.stringify({ ts, frame });
}

const READING_PREFIX = '"frame":{"type":"R"';

/**
 * Whether a payload written by encodeSpooledFrame holds a reading, without parsing it: the
 * frame's type is always its first key, right after the timestamp.
 */
export function isSpooledReading(payload: string): boolean {
  const at = payload.indexOf(',');
  return at > 0 && payload.startsWith(READING_PREFIX, at + 1);
}

const READING_PREFIX_BYTES = Buffer.from(READING_PREFIX, 'latin1');

/** isSpooledReading over payload bytes buf[start, end), without making a string of them. */
export function isSpooledReadingBytes(buf: Uint8Array, start: number, end: number): boolean {
  let at = start;
  while (at < end && buf[at] !== 0x2c /* , */) at++;
  const from = at + 1;
  const n = READING_PREFIX_BYTES.length;
  if (at === start || at >= end || from + n > end) return false;
  for (let i = 0; i < n; i++) if (buf[from + i] !== READING_PREFIX_BYTES[i]) return false;
  return true;
}

/** Inverse of encodeSpooledFrame; null for anything else (a record from a damaged disk). */
export function decodeSpooledFrame(payload: string): SpooledFrame | null {
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return null;
  }
  if (v === null || typeof v !== 'object') return null;
  const o = v as { ts?: unknown; frame?: { type?: unknown } };
  if (typeof o.ts !== 'number' || !Number.isSafeInteger(o.ts) || o.ts < 0) return null;
  if (!o.frame || typeof o.frame !== 'object' || (o.frame.type !== 'R' && o.frame.type !== 'E')) return null;
  return v as SpooledFrame;
}
