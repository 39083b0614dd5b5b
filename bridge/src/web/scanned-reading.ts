/**
 * The few values of a reading the page charts or derives events from, in a reused flat
 * array: filling the summaries and the event log for a week of readings (600,000 at
 * start-up) then allocates nothing per reading. Pure.
 */
import type { ReadingFrame } from '../../../protocol';

/** The reading keys the page uses; index into ScannedReading.v. `soc` is the battery estimator's (or a firmware's extra field). */
export const SCANNED_KEYS = ['bv', 'ba', 'la', 'lw', 'sv', 'sa', 'chg', 'flt', 'boot', 'soc'] as const;
export type ScannedKey = typeof SCANNED_KEYS[number];
export const KEY_INDEX: { [k in ScannedKey]: number } = Object.fromEntries(SCANNED_KEYS.map((k, i) => [k, i])) as { [k in ScannedKey]: number };

export interface ScannedReading {
  ts: number;
  /** Values by KEY_INDEX; NaN when absent or null. Reused between calls: copy what you keep. */
  v: Float64Array;
  /** The charger reason token (for events). */
  why: string;
  mode: string;
}

export function newScannedReading(): ScannedReading {
  return { ts: 0, v: new Float64Array(SCANNED_KEYS.length), why: '', mode: '' };
}

function num(x: unknown): number {
  return typeof x === 'number' && Number.isFinite(x) ? x : NaN;
}

/** Fills `out` from a spooled reading frame stamped `ts`. */
export function scanFrame(ts: number, f: ReadingFrame, out: ScannedReading): ScannedReading {
  out.ts = ts;
  const v = out.v;
  v[0] = num(f.bv);
  v[1] = num(f.ba);
  v[2] = num(f.la);
  v[3] = num(f.lw);
  v[4] = num(f.sv);
  v[5] = num(f.sa);
  v[6] = f.chg;
  v[7] = f.flt;
  v[8] = f.boot;
  v[9] = num(f.extra?.soc);
  out.why = f.why;
  out.mode = f.mode;
  return out;
}
