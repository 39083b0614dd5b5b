/**
 * The spool's on-disk record format, as pure functions over buffers.
 *
 *   offset 0  0xB5          magic: a byte that never occurs in the ASCII payloads, so a
 *   offset 1  0x01          format version   reader that lost its place can resync on it
 *   offset 2  u32 LE        payload length in bytes (1..MAX_PAYLOAD)
 *   offset 6  u32 LE        CRC-32/IEEE of the payload
 *   offset 10 payload       ASCII; for the bridge, a spooled frame (spooled-frame.ts)
 *
 * Each record carries its own length and CRC so a torn tail (power loss mid-write) or a
 * flipped bit is detected per record instead of poisoning the rest of the segment.
 */

import zlib from 'node:zlib';
import { crc32Table } from '../../../protocol/crc32';

export const RECORD_MAGIC = 0xb5;
export const RECORD_VERSION = 0x01;
export const HEADER_BYTES = 10;
/** Far above any frame (512 chars) plus a timestamp; anything larger is corruption. */
export const MAX_PAYLOAD = 4096;

function crc32Js(buf: Uint8Array, start: number, end: number): number {
  const t = crc32Table();
  let crc = -1;
  for (let i = start; i < end; i++) crc = (crc >>> 8) ^ t[(crc ^ buf[i]) & 0xff];
  return (crc ^ -1) >>> 0;
}

/** zlib's own CRC-32 (Node >= 20.15): native and several times faster than the table loop. */
const nativeCrc32: ((data: NodeJS.ArrayBufferView) => number) | undefined = typeof zlib.crc32 === 'function' ? zlib.crc32 : undefined;

/** CRC-32/IEEE over bytes (zlib, PNG and the serial protocol use the same one). */
export function crc32Bytes(buf: Uint8Array, start: number, end: number): number {
  // Short ranges are cheaper in JS than a view plus a native call.
  if (nativeCrc32 !== undefined && end - start >= 64) return nativeCrc32(buf.subarray(start, end)) >>> 0;
  return crc32Js(buf, start, end);
}

/** Bytes a record with this payload occupies on disk. */
export function recordSize(payload: string): number {
  return HEADER_BYTES + payload.length;
}

/**
 * Writes one record at `at` (the caller made room: recordSize(payload) bytes) and returns
 * the offset after it. The payload must be ASCII; callers only ever store validated frames.
 */
export function writeRecord(buf: Buffer, at: number, payload: string): number {
  const len = payload.length;
  if (len === 0 || len > MAX_PAYLOAD) throw new Error(`spool record payload of ${len} bytes is outside 1..${MAX_PAYLOAD}`);
  const body = at + HEADER_BYTES;
  const written = buf.write(payload, body, len, 'latin1');
  if (written !== len) throw new Error(`spool record: wrote ${written} of ${len} payload bytes`);
  buf[at] = RECORD_MAGIC;
  buf[at + 1] = RECORD_VERSION;
  buf.writeUInt32LE(len, at + 2);
  buf.writeUInt32LE(crc32Bytes(buf, body, body + len), at + 6);
  return body + len;
}

export function encodeRecord(payload: string): Buffer {
  const buf = Buffer.allocUnsafe(recordSize(payload));
  writeRecord(buf, 0, payload);
  return buf;
}

export type RecordCheck =
  /** A whole, valid record: payload is buf[start + HEADER_BYTES, end). */
  | { kind: 'record'; end: number }
  /** The bytes stop before the record does: more may come, or it is a torn tail. */
  | { kind: 'incomplete' }
  /** Not a valid record at this offset. */
  | { kind: 'corrupt'; why: string };

/** Checks the record starting at `at`, looking at no byte at or past `limit`. */
export function checkRecord(buf: Uint8Array, at: number, limit: number): RecordCheck {
  if (limit - at < HEADER_BYTES) {
    // A header cut short is only "incomplete" if what is there looks like a header start.
    if (at < limit && buf[at] !== RECORD_MAGIC) return { kind: 'corrupt', why: 'bad magic byte' };
    if (at + 1 < limit && buf[at + 1] !== RECORD_VERSION) return { kind: 'corrupt', why: 'unknown record version' };
    return { kind: 'incomplete' };
  }
  if (buf[at] !== RECORD_MAGIC) return { kind: 'corrupt', why: 'bad magic byte' };
  if (buf[at + 1] !== RECORD_VERSION) return { kind: 'corrupt', why: 'unknown record version' };
  const len = (buf[at + 2] | (buf[at + 3] << 8) | (buf[at + 4] << 16) | (buf[at + 5] << 24)) >>> 0;
  if (len === 0 || len > MAX_PAYLOAD) return { kind: 'corrupt', why: `length ${len} outside 1..${MAX_PAYLOAD}` };
  const end = at + HEADER_BYTES + len;
  if (end > limit) return { kind: 'incomplete' };
  const want = (buf[at + 6] | (buf[at + 7] << 8) | (buf[at + 8] << 16) | (buf[at + 9] << 24)) >>> 0;
  if (crc32Bytes(buf, at + HEADER_BYTES, end) !== want) return { kind: 'corrupt', why: 'CRC mismatch' };
  return { kind: 'record', end };
}

/**
 * After corruption at `from`, the offset of the next position in [from + 1, limit) where a
 * whole valid record starts, or -1. A candidate must pass the full check (magic, version,
 * length and CRC), so a stray 0xB5 in damaged bytes is not mistaken for a record.
 */
export function resync(buf: Uint8Array, from: number, limit: number): number {
  for (let i = from + 1; i < limit; i++) {
    if (buf[i] !== RECORD_MAGIC) continue;
    if (checkRecord(buf, i, limit).kind === 'record') return i;
  }
  return -1;
}
