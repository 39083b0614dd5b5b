/**
 * A bridge-side fast path for the one line that arrives thousands of times: a reading in
 * the exact form the firmware's encoder writes (the field table's order, its optional
 * values present or not, no keys from newer firmware). One regular expression, compiled
 * from the field table, checks the frame's whole shape in native code and captures each
 * value; then the CRC, the ranges, and a frame of one fixed shape.
 *
 * Contract, enforced by a differential test against the protocol's decodeLine: when this
 * returns a frame, decodeLine accepts the line and returns an equal frame with its keys in
 * the same order (so the spool's JSON is byte-identical); when it returns null, nothing is
 * claimed and the caller runs decodeLine, which also says why a line is bad. Anything
 * unusual (console noise is fine, but a trailing CR, a foreign key, another frame type, a
 * value out of range) goes the slow way; the reference codec stays the reference.
 *
 * Why not decodeLine itself: it splits the line into ~60 strings and a field map that V8
 * keeps in dictionary mode, about a quarter of the bridge's CPU at full speed and much of
 * its garbage. Why a regular expression rather than a character loop: at one reading a
 * second the JavaScript runs cold (interpreted, or just compiled on the main thread), and
 * a loop over ~300 characters costs several times what V8's compiled expression does;
 * measured in the bridge at 1/s, it also spared the optimising compiles of the loop's
 * functions. Regular expressions are fine here: this file never runs on the MCU (whose
 * Espruino RegExp lacks most of what this one uses; see scan.ts).
 */
import { FLT_RESERVED, MAX_LINE_LENGTH, MODES, REASONS } from './spec';
import type { ChargerReason, ForceMode } from './spec';
import { READING_FIELDS } from './fields';
import type { ReadingField } from './fields';
import { UINT32_MAX, UPTIME } from './frames';
import type { ReadingFrame, Value } from './frames';
import { crc32Table } from './crc32';
import { readingBuilder } from './reading-builder';

/** A value as the firmware writes it: `-` (none) or -?digits(.digits)?, as decodeLine's isDecimal. */
const VALUE = '(-|-?[0-9]+(?:\\.[0-9]+)?)';

/** A word of a '|'-delimited protocol list, as a literal inside a regular expression. */
function literal(word: string): string {
  return word.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

function words(list: string): string[] {
  return list.split('|').filter((w) => w !== '');
}

/** Decodes a line to a frame, or null when the line is not a reading in the firmware's form. */
export type FastReadingDecoder = (line: string) => ReadingFrame | null;

/**
 * The fast path for readings of `fields`' table (the real one is READING_FIELDS): the
 * same field order, ranges and frame shape as readingCodec(fields) in reading-codec.ts.
 */
export function fastReadingDecoder(fields: readonly ReadingField[]): FastReadingDecoder {
  // Per table row, in line order: the row and its capture group.
  const rows: number[] = [];
  const groups: number[] = [];
  let group = 4; // 1 seq, 2 boot, 3 up
  let source = 'R,v=1,seq=([0-9]+),boot=([0-9]+),up=(-?[0-9]+(?:\\.[0-9]+)?)';
  const block = (name: string): void => {
    fields.forEach((f, i) => {
      if (f.block !== name) return;
      // Keys are [a-z][a-z0-9_]* (readingBuilder checks), so they need no escaping.
      source += f.optional ? '(?:,' + f.key + '=' + VALUE + ')?' : ',' + f.key + '=' + VALUE;
      rows.push(i);
      groups.push(group++);
    });
  };
  block('measurement');
  const status = group;
  group += 4;
  const reasons = words(REASONS) as ChargerReason[];
  const modes = words(MODES) as ForceMode[];
  source += ',chg=([01]),why=(' + reasons.map(literal).join('|') + '),mode=(' + modes.map(literal).join('|') + '),flt=([0-9A-F]{4})';
  block('counter');
  const crcGroup = group;
  source += '\\*([0-9A-F]{8})$';
  // Sticky: matched from just after the last '$', with nothing but the frame to the end.
  const frame = new RegExp(source, 'y');
  const build = readingBuilder(fields);
  // Per table row: the value found (undefined while absent).
  const values: (Value | undefined)[] = fields.map(() => undefined);
  // The protocol's own strings, not slices of the line, so a frame holds no reference
  // into the chunk it came from.
  const reasonOf = new Map<string, ChargerReason>(reasons.map((w) => [w, w]));
  const modeOf = new Map<string, ForceMode>(modes.map((w) => [w, w]));
  const table = crc32Table();

  /**
   * The frame if `line` is a reading in the firmware's own form that the protocol decoder
   * accepts; null otherwise (then ask decodeLine). `line` is one line without its newline.
   */
  return (line: string): ReadingFrame | null => {
    const n = line.length;
    if (n > MAX_LINE_LENGTH || n < 20) return null;
    // Console prompts and echo end up before the last '$', as in the protocol decoder.
    const start = line.lastIndexOf('$');
    if (start < 0) return null;
    frame.lastIndex = start + 1;
    const m = frame.exec(line);
    if (m === null) return null;
    // The CRC of the body, over characters the expression proved ASCII.
    let crc = -1;
    for (let i = start + 1, star = n - 9; i < star; i++) crc = (crc >>> 8) ^ table[(crc ^ line.charCodeAt(i)) & 0xff];
    if (((crc ^ -1) >>> 0) !== parseInt(m[crcGroup], 16)) return null;
    const seq = +m[1];
    const boot = +m[2];
    const up = +m[3] + 0; // + 0 turns -0 into 0, as in the protocol decoder
    if (!(seq >= 1 && seq <= UINT32_MAX) || !(boot <= UINT32_MAX) || !(up >= UPTIME.lo && up <= UPTIME.hi)) return null;
    for (let i = 0; i < rows.length; i++) {
      const v = m[groups[i]];
      const row = rows[i];
      if (v === undefined) values[row] = undefined;
      else if (v === '-') values[row] = null;
      else {
        // Number() reads -?digits(.digits)? exactly as parseFloat does, correctly rounded.
        const x = +v + 0;
        const f = fields[row];
        if (!(x >= f.lo && x <= f.hi)) return null;
        values[row] = x;
      }
    }
    const flt = parseInt(m[status + 3], 16);
    if ((flt & FLT_RESERVED) !== 0) return null;
    return build(seq, boot, up, m[status] === '1' ? 1 : 0, reasonOf.get(m[status + 1])!, modeOf.get(m[status + 2])!, flt, values);
  };
}

/** The bridge's fast path for the real table. */
export const fastReading: FastReadingDecoder = fastReadingDecoder(READING_FIELDS);
