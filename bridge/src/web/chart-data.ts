/**
 * Chart data downsampled for the screen: the time window is cut into one column per
 * pixel and each series keeps its minimum and maximum per column, so a one-second spike
 * in a week of data still shows. Pure: the caller feeds readings in time order.
 */
import { KEY_INDEX, ScannedKey, ScannedReading } from './scanned-reading';

/** Series drawn as a min/max band, with the decimals they are sent with. */
export const BAND_SERIES: ReadonlyArray<{ key: ScannedKey; decimals: number }> = [
  { key: 'bv', decimals: 3 },
  { key: 'ba', decimals: 3 },
  { key: 'la', decimals: 3 },
  { key: 'sv', decimals: 3 },
  { key: 'sa', decimals: 3 },
  { key: 'soc', decimals: 1 },
];

export interface ChartWindow {
  fromMs: number;
  toMs: number;
  columnMs: number;
  columns: number;
}

/**
 * At most `columns` columns, each a whole number of `stepMs`, covering `spanMs` up to
 * the first boundary after `endMs`; aligned to multiples of the column width so two
 * requests a second apart bin the same readings alike.
 */
export function chartWindow(spanMs: number, columns: number, endMs: number, stepMs = 1): ChartWindow {
  // Whole steps per column (the summaries' width), so a summary never straddles two columns.
  const columnMs = Math.ceil(spanMs / columns / stepMs) * stepMs;
  const n = Math.ceil(spanMs / columnMs);
  const toMs = Math.ceil((endMs + 1) / columnMs) * columnMs;
  return { fromMs: toMs - n * columnMs, toMs, columnMs, columns: n };
}

export interface ChartJson {
  from_ms: number;
  to_ms: number;
  column_ms: number;
  columns: number;
  /** Columns holding at least one reading: the length of every array below. */
  points: number;
  /** Readings binned. */
  readings: number;
  newest_ms: number | null;
  /** Column start times, seconds since the epoch (what uPlot takes). */
  t: number[];
  /** Per series present in the window: min and max per column (null: no value there). */
  series: { [key: string]: { min: Array<number | null>; max: Array<number | null> } };
  /** Fraction of the column's readings with the charger ON (0..1). */
  charger_on: number[];
}

export class ChartBuilder {
  private readonly mins: Float64Array[];
  private readonly maxs: Float64Array[];
  private readonly count: Uint32Array;
  private readonly on: Uint32Array;
  private readings = 0;
  private newest = -1;

  constructor(readonly window: ChartWindow) {
    const n = window.columns;
    this.mins = BAND_SERIES.map(() => new Float64Array(n).fill(Infinity));
    this.maxs = BAND_SERIES.map(() => new Float64Array(n).fill(-Infinity));
    this.count = new Uint32Array(n);
    this.on = new Uint32Array(n);
  }

  add(r: ScannedReading): void {
    const w = this.window;
    if (r.ts < w.fromMs || r.ts >= w.toMs) return;
    const col = Math.floor((r.ts - w.fromMs) / w.columnMs);
    this.count[col]++;
    this.readings++;
    if (r.ts > this.newest) this.newest = r.ts;
    if (r.v[KEY_INDEX.chg] === 1) this.on[col]++;
    for (let s = 0; s < BAND_SERIES.length; s++) {
      const x = r.v[KEY_INDEX[BAND_SERIES[s].key]];
      if (x !== x) continue; // NaN: absent or null
      if (x < this.mins[s][col]) this.mins[s][col] = x;
      if (x > this.maxs[s][col]) this.maxs[s][col] = x;
    }
  }

  /** A summary of `count` readings starting at `ts` (summary-store.ts); slot `i` of its arrays. */
  addSummary(ts: number, count: number, on: number, mins: Float32Array[], maxs: Float32Array[], i: number): void {
    const w = this.window;
    if (ts < w.fromMs || ts >= w.toMs) return;
    const col = Math.floor((ts - w.fromMs) / w.columnMs);
    this.count[col] += count;
    this.on[col] += on;
    this.readings += count;
    if (ts > this.newest) this.newest = ts;
    for (let s = 0; s < BAND_SERIES.length; s++) {
      const lo = mins[s][i];
      if (lo !== lo) continue;
      if (lo < this.mins[s][col]) this.mins[s][col] = lo;
      if (maxs[s][i] > this.maxs[s][col]) this.maxs[s][col] = maxs[s][i];
    }
  }

  /** The newest reading's exact time, when the caller knows it better than the summaries. */
  setNewest(ts: number): void {
    if (ts >= this.window.fromMs && ts < this.window.toMs) this.newest = ts;
  }

  toJson(): ChartJson {
    const w = this.window;
    const t: number[] = [];
    const on: number[] = [];
    const cols: number[] = [];
    for (let c = 0; c < w.columns; c++) {
      if (this.count[c] === 0) continue;
      cols.push(c);
      t.push((w.fromMs + c * w.columnMs) / 1000);
      on.push(Math.round((this.on[c] / this.count[c]) * 100) / 100);
    }
    const series: ChartJson['series'] = {};
    BAND_SERIES.forEach((def, s) => {
      const f = 10 ** def.decimals;
      let any = false;
      const min: Array<number | null> = [];
      const max: Array<number | null> = [];
      for (const c of cols) {
        const lo = this.mins[s][c];
        if (lo === Infinity) {
          min.push(null);
          max.push(null);
          continue;
        }
        any = true;
        min.push(Math.round(lo * f) / f);
        max.push(Math.round(this.maxs[s][c] * f) / f);
      }
      if (any) series[def.key] = { min, max };
    });
    return {
      from_ms: w.fromMs, to_ms: w.toMs, column_ms: w.columnMs, columns: w.columns,
      points: cols.length, readings: this.readings, newest_ms: this.newest < 0 ? null : this.newest,
      t, series, charger_on: on,
    };
  }
}
