/**
 * Serial protocol v1 between the MCU and its host, the host's full codec: every frame
 * type, every field validated, for the bridge, the simulator and the tests. The wire
 * format is specified in protocol/PROTOCOL.md. Pure: no I/O, no clock, no state other
 * than the CRC table built on first use.
 *
 * This file puts the codec together from its parts, by job:
 *   frames.ts         the frame and result types
 *   fields.ts         the reading's measured values, one table
 *   scan.ts           character classes and scanners (no regular expressions)
 *   field-reader.ts   reading a frame's fields with first-error bookkeeping
 *   encode.ts         wire spellings of values, and the frame around a body
 *   reading-codec.ts  R frames, from a field table
 *   reading-builder.ts  the frame object both reading decoders build
 *   messages.ts       E and A frames
 *   commands.ts       C frames and the command rules
 *   line-decoder.ts   framing, CRC, version and type, dispatch
 *   fast-reading.ts   the bridge's one-pass reading decoder, held to the reference
 * The MCU has its own lean writer and parser (firmware/src/mcu-codec.ts) and shares only
 * spec.ts, crc32.ts and line-splitter.ts, because the whole firmware must fit in 12 KB.
 */
import type { CrcFn } from './spec';
import { READING_FIELDS } from './fields';
import type { ReadingField } from './fields';
import type { Reading } from './frames';
import { readingCodec } from './reading-codec';
import { LineDecoder, lineDecoder } from './line-decoder';
import { FastReadingDecoder, fastReading, fastReadingDecoder } from './fast-reading';

/** A codec for readings of one field table. */
export interface Codec {
  readonly fields: readonly ReadingField[];
  encodeReading(r: Reading, crc?: CrcFn): string;
  decodeLine: LineDecoder;
  fastReading: FastReadingDecoder;
}

/**
 * The codec for readings of `fields`. Everything but readings is the same for every
 * table; the real instance (below) uses READING_FIELDS, and a test can hand it a table
 * with a row added.
 */
export function createCodec(fields: readonly ReadingField[]): Codec {
  const reading = readingCodec(fields);
  return { fields: fields, encodeReading: reading.encode, decodeLine: lineDecoder(reading), fastReading: fastReadingDecoder(fields) };
}

const defaultReading = readingCodec(READING_FIELDS);

/**
 * One line without its '\n'. Throws on input the protocol cannot represent (a wrong seq,
 * reason…: a programming error); measured values that are null, non-finite or out of
 * range are sent as '-'.
 */
export const encodeReading: (r: Reading, crc?: CrcFn) => string = defaultReading.encode;

/**
 * Decodes one line (a trailing "\n", "\r\n" or "\r" is ignored). Never throws: every
 * problem is a { ok: false, reason, detail }. Pass E.CRC32 as `crc` on the MCU.
 */
export const decodeLine: LineDecoder = lineDecoder(defaultReading);

export { fastReading };
