/**
 * The reading (R frame), encoded and decoded from a field table: the header (seq, boot,
 * up), the table's measurements, the status (chg, why, mode, flt), the table's counters.
 * Built from a table rather than fixed, so a test can add a row and see it carried; the
 * real instances (codec.ts) use READING_FIELDS.
 */
import { BITS, FLT_RESERVED, MODES, READING_HEADER_KEYS, REASONS } from './spec';
import type { ChargerReason, CrcFn, ForceMode } from './spec';
import type { ReadingField } from './fields';
import { DecodeResult, Reading, UINT32_MAX, UPTIME, Value } from './frames';
import { readingBuilder } from './reading-builder';
import { FieldReader, WireMap } from './field-reader';
import { isHex, isKey, quoted } from './scan';
import { cannotEncode, fixedText, frameLine, listWord, requiredFixedText, unsignedText } from './encode';

export interface ReadingCodec {
  readonly fields: readonly ReadingField[];
  /** `|key|…|` of every key a reading of this table may carry. */
  readonly knownKeys: string;
  /** One line without its '\n'; measured values that cannot be carried are sent as '-'. */
  encode(r: Reading, crc?: CrcFn): string;
  /** The frame from a reader over the line's fields (`keys` in line order). */
  decode(reader: FieldReader, keys: string[]): DecodeResult;
}

export function readingCodec(fields: readonly ReadingField[]): ReadingCodec {
  const measurements = fields.filter((f) => f.block === 'measurement');
  const counters = fields.filter((f) => f.block === 'counter');
  const rowsWhere = (keep: (f: ReadingField) => boolean): number[] => {
    const rows: number[] = [];
    fields.forEach((f, i) => { if (keep(f)) rows.push(i); });
    return rows;
  };
  // The decoder reads required measurements, the status, required counters, then the
  // optional values: the order it always had, so a line with several faults is refused
  // for the same first one.
  const requiredMeasurementRows = rowsWhere((f) => f.block === 'measurement' && !f.optional);
  const requiredCounterRows = rowsWhere((f) => f.block === 'counter' && !f.optional);
  const optionalRows = rowsWhere((f) => f.optional);
  const build = readingBuilder(fields);
  // One value per table row, reused: the builder copies them into the frame.
  const rowValues: (Value | undefined)[] = fields.map(() => undefined);
  const readRows = (c: FieldReader, rows: readonly number[], optionalOnes: boolean): void => {
    for (let i = 0; i < rows.length; i++) {
      const f = fields[rows[i]];
      rowValues[rows[i]] = optionalOnes && !c.has(f.key) ? undefined : c.measured(f.key, f);
    }
  };
  let knownKeys = READING_HEADER_KEYS;
  for (const f of fields) {
    if (!isKey(f.key) || knownKeys.indexOf('|' + f.key + '|') >= 0) throw new Error('protocol: reading field ' + quoted(f.key) + ' is not a key, is listed twice or is a header key');
    knownKeys += f.key + '|';
  }

  const valuesText = (block: readonly ReadingField[], values: WireMap): string => {
    let s = '';
    for (let i = 0; i < block.length; i++) {
      const f = block[i];
      if (f.optional && values[f.key] === undefined) continue;
      s += ',' + f.key + '=' + fixedText(values[f.key], f);
    }
    return s;
  };

  const encode = (r: Reading, crc?: CrcFn): string => {
    const values = r as unknown as WireMap;
    let s = 'R,v=1,seq=' + unsignedText(r.seq, 1, 'seq') + ',boot=' + unsignedText(r.boot, 0, 'boot') + ',up=' + requiredFixedText(r.up, UPTIME, 'up');
    s += valuesText(measurements, values);
    if (r.chg !== 0 && r.chg !== 1) cannotEncode('chg', quoted(r.chg) + ' is not 0 or 1');
    const flt = r.flt;
    if (typeof flt !== 'number' || flt % 1 !== 0 || flt < 0 || flt > 0xffff || (flt & FLT_RESERVED) !== 0) cannotEncode('flt', quoted(flt) + ' is not a v1 fault word');
    let hex = flt.toString(16).toUpperCase();
    while (hex.length < 4) hex = '0' + hex;
    s += ',chg=' + r.chg + ',why=' + listWord(r.why, REASONS, 'why') + ',mode=' + listWord(r.mode, MODES, 'mode') + ',flt=' + hex;
    s += valuesText(counters, values);
    return frameLine(s, crc);
  };

  const decode = (c: FieldReader, keys: string[]): DecodeResult => {
    const seq = c.unsigned('seq', 1, UINT32_MAX);
    const boot = c.unsigned('boot', 0, UINT32_MAX);
    const up = c.decimal('up', UPTIME.lo, UPTIME.hi);
    readRows(c, requiredMeasurementRows, false);
    const chg = c.oneOf('chg', BITS) === '1' ? 1 : 0;
    const why = c.oneOf('why', REASONS) as ChargerReason;
    const mode = c.oneOf('mode', MODES) as ForceMode;
    readRows(c, requiredCounterRows, false);
    readRows(c, optionalRows, true);
    let fltWord = 0;
    const flt = c.take('flt');
    if (typeof flt === 'string') {
      if (!isHex(flt, 0, 4, true)) c.fail('bad_value', 'field flt: ' + quoted(flt) + ' is not 4 uppercase hex digits');
      else {
        fltWord = parseInt(flt, 16);
        if (fltWord & FLT_RESERVED) c.fail('out_of_range', 'field flt: ' + flt + ' sets reserved bits 12-15');
      }
    }
    const extra = c.unknownFields(keys, knownKeys);
    if (c.err) return c.err;
    const r = build(seq, boot, up, chg, why, mode, fltWord, rowValues);
    if (extra) r.extra = extra;
    return { ok: true, frame: r };
  };

  return { fields: fields, knownKeys: knownKeys, encode: encode, decode: decode };
}
