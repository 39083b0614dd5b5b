/**
 * The sink cursor file's slot format, as pure functions over buffers. The file holds two
 * slots of equal size (the file's size is twice the slot size); a save overwrites the
 * slot that does NOT hold the newest good save, so power lost mid-write tears at most the
 * slot being written and the other still holds the previous save.
 *
 *   offset 0   u32 LE   magic 0x52554353 ("SCUR")
 *   offset 4   u16 LE   format version (1)
 *   offset 6   u16 LE   0
 *   offset 8   u48 LE   generation: +1 per save, the higher good slot is the newer
 *   offset 14  u16 LE   0
 *   offset 16  u32 LE   payload length in bytes
 *   offset 20  u32 LE   CRC-32/IEEE of bytes 0..19 and the payload
 *   offset 24  payload  JSON {"<sink>": [offset, index], ...}
 *
 * Bytes after the payload are not part of the slot (a shorter save leaves old bytes
 * there): the length and the CRC decide what is read.
 */
import { crc32Bytes } from './record-codec';
import type { SpoolPosition } from './spool-types';

const SLOT_MAGIC = 0x52554353;
const SLOT_VERSION = 1;
export const SLOT_HEADER_BYTES = 24;
/**
 * One slot per 4 KiB page: writing one slot never rewrites the page (or the physical
 * sector of a 4Kn disk) that holds the other, so a torn write cannot take both.
 */
export const DEFAULT_SLOT_BYTES = 4096;
/** The largest slot the file grows to (many sinks with long names); past it a save fails. */
export const MAX_SLOT_BYTES = 1024 * 1024;
const MAX_GENERATION = 2 ** 48 - 1;
/** The sink names the spool accepts on disk (the old per-sink files used the same). */
export const SINK_NAME_RE = /^[A-Za-z0-9_.-]+$/;

export type SlotContent =
  | { kind: 'empty' }
  | { kind: 'bad'; why: string }
  | { kind: 'good'; generation: number; positions: Map<string, SpoolPosition> };

function headerCrc(buf: Uint8Array, at: number, payloadEnd: number): number {
  // CRC over the header (without the CRC field) then the payload, as one run.
  const joined = Buffer.allocUnsafe(20 + payloadEnd - (at + SLOT_HEADER_BYTES));
  joined.set(buf.subarray(at, at + 20), 0);
  joined.set(buf.subarray(at + SLOT_HEADER_BYTES, payloadEnd), 20);
  return crc32Bytes(joined, 0, joined.length);
}

/** A slot holding `positions` as save number `generation`: header and payload only. */
export function encodeSlot(generation: number, positions: ReadonlyMap<string, SpoolPosition>): Buffer {
  if (!Number.isSafeInteger(generation) || generation < 1 || generation > MAX_GENERATION) throw new Error(`cursor slot generation ${generation} is out of range`);
  const obj: Record<string, [number, number]> = {};
  for (const [sink, p] of positions) {
    if (!SINK_NAME_RE.test(sink)) throw new Error(`cursor slot: sink name ${JSON.stringify(sink)} is not [A-Za-z0-9_.-]+`);
    obj[sink] = [p.offset, p.index];
  }
  const payload = Buffer.from(JSON.stringify(obj), 'utf8');
  const buf = Buffer.alloc(SLOT_HEADER_BYTES + payload.length);
  buf.writeUInt32LE(SLOT_MAGIC, 0);
  buf.writeUInt16LE(SLOT_VERSION, 4);
  buf.writeUIntLE(generation, 8, 6);
  buf.writeUInt32LE(payload.length, 16);
  payload.copy(buf, SLOT_HEADER_BYTES);
  buf.writeUInt32LE(headerCrc(buf, 0, buf.length), 20);
  return buf;
}

function isZero(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

/** Reads the slot in buf[start, end); says why when it is not a good slot. */
export function decodeSlot(buf: Uint8Array, start: number, end: number): SlotContent {
  if (end - start < SLOT_HEADER_BYTES) return { kind: 'bad', why: `slot of ${end - start} bytes is shorter than its header` };
  // A slot never written (the second slot of a new file) is zeros: empty, not damage.
  if (isZero(buf, start, start + SLOT_HEADER_BYTES)) return { kind: 'empty' };
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.readUInt32LE(start) !== SLOT_MAGIC) return { kind: 'bad', why: 'bad magic' };
  const version = b.readUInt16LE(start + 4);
  if (version !== SLOT_VERSION) return { kind: 'bad', why: `unknown format version ${version}` };
  const len = b.readUInt32LE(start + 16);
  if (len > end - start - SLOT_HEADER_BYTES) return { kind: 'bad', why: `payload length ${len} runs past the slot` };
  const payloadEnd = start + SLOT_HEADER_BYTES + len;
  if (headerCrc(b, start, payloadEnd) !== b.readUInt32LE(start + 20)) return { kind: 'bad', why: 'CRC mismatch (torn or damaged)' };
  let obj: unknown;
  try {
    obj = JSON.parse(b.toString('utf8', start + SLOT_HEADER_BYTES, payloadEnd));
  } catch (e) {
    return { kind: 'bad', why: `payload is not JSON (${(e as Error).message})` };
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return { kind: 'bad', why: 'payload is not an object of sinks' };
  const positions = new Map<string, SpoolPosition>();
  for (const [sink, v] of Object.entries(obj as Record<string, unknown>)) {
    const ok = SINK_NAME_RE.test(sink) && Array.isArray(v) && v.length === 2 && v.every((n) => Number.isSafeInteger(n) && (n as number) >= 0);
    if (!ok) return { kind: 'bad', why: `bad position for sink ${JSON.stringify(sink)}` };
    positions.set(sink, { offset: v[0] as number, index: v[1] as number });
  }
  return { kind: 'good', generation: b.readUIntLE(start + 8, 6), positions };
}

/** What a whole cursor file holds: the newer good slot (0 or 1), and what is wrong with the others. */
export interface CursorFileContent {
  newest: { slot: 0 | 1; generation: number; positions: Map<string, SpoolPosition> } | null;
  slotBytes: number;
  /** One line per damaged slot, for the log ("slot 1: CRC mismatch (torn or damaged)"). */
  damaged: string[];
}

/** Reads both slots of a cursor file's bytes. A size that is not two equal slots is damage too. */
export function decodeCursorFile(buf: Uint8Array): CursorFileContent {
  if (buf.length < 2 * SLOT_HEADER_BYTES || buf.length % 2 !== 0) {
    return { newest: null, slotBytes: 0, damaged: [`file of ${buf.length} bytes is not two slots`] };
  }
  const slotBytes = buf.length / 2;
  const damaged: string[] = [];
  let newest: CursorFileContent['newest'] = null;
  for (const slot of [0, 1] as const) {
    const c = decodeSlot(buf, slot * slotBytes, (slot + 1) * slotBytes);
    if (c.kind === 'bad') damaged.push(`slot ${slot}: ${c.why}`);
    if (c.kind === 'good' && (!newest || c.generation > newest.generation)) newest = { slot, generation: c.generation, positions: c.positions };
  }
  return { newest, slotBytes, damaged };
}

/** The smallest slot size (DEFAULT_SLOT_BYTES doubled) that holds `bytes`; throws past MAX_SLOT_BYTES. */
export function slotSizeFor(bytes: number): number {
  let size = DEFAULT_SLOT_BYTES;
  while (size < bytes && size < MAX_SLOT_BYTES) size *= 2;
  if (size < bytes) throw new Error(`sink cursors need ${bytes} bytes, more than a slot may hold (${MAX_SLOT_BYTES})`);
  return size;
}
