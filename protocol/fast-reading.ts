/**
 * A bridge-side fast path for the one line that arrives thousands of times: a reading in
 * the exact form the firmware's encoder writes (the field table's order, its optional
 * values present or not, no keys from newer firmware). One pass over the characters
 * checks the CRC, the version and every field, and fills a frame of one fixed shape.
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
 * its garbage. The MCU's codec is size-budgeted and shared, so the speed lives here.
 */
import { FLT_RESERVED, MAX_LINE_LENGTH, MODES, REASONS } from './spec';
import type { ChargerReason, ForceMode } from './spec';
import { READING_FIELDS } from './fields';
import type { ReadingField } from './fields';
import { UINT32_MAX, UPTIME } from './frames';
import type { ReadingFrame, Value } from './frames';
import { crc32Table } from './crc32';
import { readingBuilder } from './reading-builder';

/** Exact powers of ten: M / 10^k is correctly rounded (as parseFloat) for M < 2^53, k <= 22. */
const POW10: number[] = [];
for (let k = 0, p = 1; k <= 22; k++, p *= 10) POW10.push(p);

// The protocol's own word lists; returning these strings (not slices of the line) means a
// frame holds no reference into the chunk it came from.
const REASON_LIST = REASONS.split('|').filter((w) => w !== '') as ChargerReason[];
const MODE_LIST = MODES.split('|').filter((w) => w !== '') as ForceMode[];
const BIT_LIST = ['0', '1'];

/** State of one scan: where it is, and the value of the last number read. */
class Scan {
  line = '';
  pos = 0;
  end = 0;
  crc = -1;
  table: Int32Array = crc32Table();
  num = 0;
  isNull = false;
  /** The CRC the line ends with. */
  sent = 0;

  /** Consumes `text` (ASCII) at pos, folding it into the CRC; false if the line differs. */
  literal(text: string): boolean {
    const s = this.line;
    let p = this.pos;
    if (p + text.length > this.end) return false;
    let crc = this.crc;
    const t = this.table;
    for (let i = 0; i < text.length; i++, p++) {
      const c = s.charCodeAt(p);
      if (c !== text.charCodeAt(i)) return false;
      crc = (crc >>> 8) ^ t[(crc ^ c) & 0xff];
    }
    this.crc = crc;
    this.pos = p;
    return true;
  }

  /**
   * A value up to the next ',' or the end of the body: `-` (isNull) or -?digits(.digits)?
   * into num, exactly as parseFloat(v) + 0 reads it. With `unsigned`, digits only.
   */
  number(unsigned: boolean, allowNull: boolean): boolean {
    const s = this.line;
    const t = this.table;
    let p = this.pos;
    const end = this.end;
    let crc = this.crc;
    let c = p < end ? s.charCodeAt(p) : -1;
    this.isNull = false;
    if (c === 45 /* - */) {
      crc = (crc >>> 8) ^ t[(crc ^ c) & 0xff];
      p++;
      c = p < end ? s.charCodeAt(p) : -1;
      if (c === 44 /* , */ || c === -1) {
        if (!allowNull) return false;
        this.isNull = true;
        this.crc = crc;
        this.pos = p;
        return true;
      }
      if (unsigned) return false;
      const ok = this.digits(p, crc, false);
      if (ok) this.num = -this.num + 0; // -0 reads as 0, as in the protocol decoder
      return ok;
    }
    return this.digits(p, crc, unsigned);
  }

  private digits(from: number, crcIn: number, integer: boolean): boolean {
    const s = this.line;
    const t = this.table;
    const end = this.end;
    let p = from;
    let crc = crcIn;
    let m = 0;
    let count = 0;
    let c = p < end ? s.charCodeAt(p) : -1;
    while (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      count++;
      crc = (crc >>> 8) ^ t[(crc ^ c) & 0xff];
      c = ++p < end ? s.charCodeAt(p) : -1;
    }
    if (count === 0) return false;
    let frac = 0;
    if (c === 46 /* . */ && !integer) {
      crc = (crc >>> 8) ^ t[(crc ^ c) & 0xff];
      c = ++p < end ? s.charCodeAt(p) : -1;
      while (c >= 48 && c <= 57) {
        m = m * 10 + (c - 48);
        count++;
        frac++;
        crc = (crc >>> 8) ^ t[(crc ^ c) & 0xff];
        c = ++p < end ? s.charCodeAt(p) : -1;
      }
      if (frac === 0) return false;
    }
    if (c !== 44 && c !== -1) return false;
    // Up to 15 digits the mantissa is exact and one division is correctly rounded; longer
    // spellings (never sent by the firmware) go through parseFloat itself.
    this.num = count <= 15 ? (frac === 0 ? m : m / POW10[frac]) : parseFloat(s.slice(from, p));
    this.crc = crc;
    this.pos = p;
    return true;
  }

  /** One of `list` up to the next ',' (folded into the CRC), or null. */
  oneOf<T extends string>(list: readonly T[]): T | null {
    const s = this.line;
    const p = this.pos;
    let e = s.indexOf(',', p);
    if (e < 0 || e > this.end) e = this.end;
    const n = e - p;
    for (let i = 0; i < list.length; i++) {
      const w = list[i];
      if (w.length === n && s.startsWith(w, p)) {
        this.literal(w);
        return w;
      }
    }
    return null;
  }

  /** Exactly 4 uppercase hex digits at the end of a field. */
  hex4(): number {
    const s = this.line;
    let p = this.pos;
    if (p + 4 > this.end) return -1;
    let v = 0;
    let crc = this.crc;
    const t = this.table;
    for (let i = 0; i < 4; i++, p++) {
      const c = s.charCodeAt(p);
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (d < 0) return -1;
      v = v * 16 + d;
      crc = (crc >>> 8) ^ t[(crc ^ c) & 0xff];
    }
    if (p < this.end && s.charCodeAt(p) !== 44) return -1;
    this.crc = crc;
    this.pos = p;
    return v;
  }
}

/** One measured value as the scan expects it: `,key=` then a number in lo..hi or `-`. */
interface ValueStep {
  readonly key: string;
  readonly prefix: string;
  readonly lo: number;
  readonly hi: number;
  readonly optional: boolean;
  /** The field's row in the table, where its value goes. */
  readonly slot: number;
}

/** Decodes a line to a frame, or null when the line is not a reading in the firmware's form. */
export type FastReadingDecoder = (line: string) => ReadingFrame | null;

/**
 * The fast path for readings of `fields`' table (the real one is READING_FIELDS): the
 * same field order, ranges and frame shape as readingCodec(fields) in reading-codec.ts.
 */
export function fastReadingDecoder(fields: readonly ReadingField[]): FastReadingDecoder {
  const steps = fields.map((f, i): ValueStep => ({ key: f.key, prefix: ',' + f.key + '=', lo: f.lo, hi: f.hi, optional: f.optional, slot: i }));
  const measurements = steps.filter((s) => fields[s.slot].block === 'measurement');
  const counters = steps.filter((s) => fields[s.slot].block === 'counter');
  // Per table row: the value found (undefined while absent).
  const values: (Value | undefined)[] = steps.map(() => undefined);
  const build = readingBuilder(fields);
  const scan = new Scan();

  /** The block's values into their slots; false at the first that is not as expected. */
  const readBlock = (block: readonly ValueStep[]): boolean => {
    const s = scan;
    for (let i = 0; i < block.length; i++) {
      const step = block[i];
      if (step.optional) {
        values[step.slot] = undefined;
        if (!s.line.startsWith(step.prefix, s.pos)) continue;
      }
      if (!s.literal(step.prefix) || !s.number(false, true)) return false;
      if (s.isNull) values[step.slot] = null;
      else {
        const x = s.num;
        if (!(x >= step.lo && x <= step.hi)) return false;
        values[step.slot] = x;
      }
    }
    return true;
  };

  const unsigned = (k: string, lo: number): number => {
    if (!scan.literal(k) || !scan.number(true, false)) return -1;
    const x = scan.num;
    return x >= lo && x <= UINT32_MAX ? x : -1;
  };

  const decode = (star: number): ReadingFrame | null => {
    const s = scan;
    if (!s.literal('R,v=1,')) return null;
    const seq = unsigned('seq=', 1);
    if (seq < 0 || !s.literal(',')) return null;
    const boot = unsigned('boot=', 0);
    if (boot < 0 || !s.literal(',up=') || !s.number(false, false)) return null;
    const up = s.num;
    if (!(up >= UPTIME.lo && up <= UPTIME.hi)) return null;
    if (!readBlock(measurements) || !s.literal(',chg=')) return null;
    const chg = s.oneOf(BIT_LIST);
    if (chg === null || !s.literal(',why=')) return null;
    const why = s.oneOf(REASON_LIST);
    if (why === null || !s.literal(',mode=')) return null;
    const mode = s.oneOf(MODE_LIST);
    if (mode === null || !s.literal(',flt=')) return null;
    const flt = s.hex4();
    if (flt < 0 || (flt & FLT_RESERVED) !== 0 || !readBlock(counters)) return null;
    // Anything after the last known field (a key from newer firmware) is the decoder's job.
    if (s.pos !== star || ((s.crc ^ -1) >>> 0) !== s.sent) return null;
    return build(seq, boot, up, chg === '1' ? 1 : 0, why, mode, flt, values);
  };

  /**
   * The frame if `line` is a reading in the firmware's own form that the protocol decoder
   * accepts; null otherwise (then ask decodeLine). `line` is one line without its newline.
   */
  return (line: string): ReadingFrame | null => {
    const n = line.length;
    if (n > MAX_LINE_LENGTH || n < 20) return null;
    // Console prompts and echo end up before the last '$', as in the protocol decoder.
    const start = line.lastIndexOf('$');
    const star = n - 9;
    if (start < 0 || star <= start || line.charCodeAt(star) !== 42) return null;
    let sent = 0;
    for (let i = star + 1; i < n; i++) {
      const c = line.charCodeAt(i);
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (d < 0) return null;
      sent = sent * 16 + d;
    }
    const s = scan;
    s.line = line;
    s.pos = start + 1;
    s.end = star;
    s.crc = -1;
    s.sent = sent;
    try {
      return decode(star);
    } finally {
      s.line = ''; // no reference to the chunk once done
    }
  };
}

/** The bridge's fast path for the real table. */
export const fastReading: FastReadingDecoder = fastReadingDecoder(READING_FIELDS);
