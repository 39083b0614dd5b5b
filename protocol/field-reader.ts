/**
 * Reads a frame's fields, one check per field, and keeps only the first error, so a
 * decoder reads straight through and asks once at the end. The values are wire strings
 * (the line decoder) or JSON values (validateCommand, which applies the same rules).
 */
import type { FrameType } from './spec';
import type { DecodeFailure, ExtraFields, RejectReason, Value } from './frames';
import { hasOwn, inList, isDecimal, isToken, isUnsigned, quoted } from './scan';

/** Field values by key, as read from a line or given as a JSON object. */
export type WireMap = { [key: string]: unknown };

export function reject(reason: RejectReason, detail: string, type?: FrameType, id?: number): DecodeFailure {
  const r: DecodeFailure = { ok: false, reason: reason, detail: detail };
  if (type !== undefined) r.type = type;
  if (id !== undefined) r.id = id;
  return r;
}

/** What a value must be to be accepted: its range (decimals only matter to encoders). */
export interface Range { readonly lo: number; readonly hi: number }

export class FieldReader {
  err: DecodeFailure | null = null;
  /** Known keys taken so far: when it equals the key count there are no others to scan. */
  taken = 0;
  constructor(readonly values: WireMap, readonly type: FrameType) {}

  failure(): DecodeFailure | null { return this.err; }

  has(k: string): boolean { return hasOwn(this.values, k) && this.values[k] !== undefined; }

  fail(reason: RejectReason, detail: string): void {
    if (!this.err) this.err = reject(reason, detail, this.type);
  }

  /** The value of a required field (counted as known), or undefined with missing_field. */
  take(k: string): unknown {
    if (this.has(k)) { this.taken++; return this.values[k]; }
    this.fail('missing_field', 'field ' + k + ' missing');
    return undefined;
  }

  private inRange(k: string, v: unknown, lo: number, hi: number, integer: boolean): number {
    let x: number;
    if (typeof v === 'number' && (!integer || v % 1 === 0)) x = v;
    else if (typeof v === 'string' && (integer ? isUnsigned(v) : isDecimal(v))) x = parseFloat(v) + 0; // + 0 turns -0 into 0
    else {
      this.fail('bad_value', 'field ' + k + ': ' + quoted(v) + (integer ? ' is not an unsigned integer' : ' is not a number'));
      return 0;
    }
    if (!(x >= lo && x <= hi)) {
      this.fail(x !== x ? 'bad_value' : 'out_of_range', 'field ' + k + ': ' + quoted(v) + ' outside ' + lo + '..' + hi);
      return 0;
    }
    return x;
  }

  decimal(k: string, lo: number, hi: number): number {
    const v = this.take(k);
    return v === undefined ? 0 : this.inRange(k, v, lo, hi, false);
  }

  unsigned(k: string, lo: number, hi: number): number {
    const v = this.take(k);
    return v === undefined ? 0 : this.inRange(k, v, lo, hi, true);
  }

  /** A measured value: `-` is null (no value), anything else a number within `range`. */
  measured(k: string, range: Range): Value {
    const v = this.take(k);
    if (v === undefined || v === '-') return null;
    return this.inRange(k, v, range.lo, range.hi, false);
  }

  /** One of the words of a '|'-delimited list (spec.ts). */
  oneOf(k: string, list: string): string {
    const v = this.take(k);
    if (v === undefined) return '';
    if (typeof v === 'string' && inList(list, v)) return v;
    this.fail('bad_value', 'field ' + k + ': ' + quoted(v) + ' is not one of ' + list.slice(1, -1));
    return '';
  }

  token(k: string): string {
    const v = this.take(k);
    if (v === undefined) return '';
    if (typeof v === 'string' && isToken(v)) return v;
    this.fail('bad_value', 'field ' + k + ': ' + quoted(v) + ' is not a token');
    return '';
  }

  /** Keys outside `known` ('|'-delimited), in line order, read as number, null or token. */
  unknownFields(keys: string[], known: string): ExtraFields | undefined {
    let out: ExtraFields | undefined;
    if (keys.length === this.taken) return out;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      if (known.indexOf('|' + k + '|') >= 0) continue;
      const v = this.values[k] as string;
      let x: number | string | null;
      if (v === '-') x = null;
      else if (isDecimal(v)) {
        x = parseFloat(v) + 0;
        if (!isFinite(x)) this.fail('out_of_range', 'field ' + k + ': ' + quoted(v) + ' too large');
      } else if (isToken(v)) x = v;
      else {
        this.fail('bad_value', 'field ' + k + ': ' + quoted(v) + ' is not a number or token (free text is only allowed in msg)');
        x = null;
      }
      if (!out) out = {};
      out[k] = x;
    }
    return out;
  }
}
