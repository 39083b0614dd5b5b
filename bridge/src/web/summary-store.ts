/**
 * The last week of readings kept as 10-second summaries (per series: min and max; the
 * readings and how many had the charger ON), in a ring, so a chart is made from at most
 * 60,480 summaries instead of re-reading 600,000 records from the spool. Filled from the
 * spool at start and by every reading after. Pure. About 4 MB.
 *
 * Chart columns are whole multiples of the summary width and aligned to it, so binning
 * summaries puts every reading in the same column as binning the readings would.
 */
import { BAND_SERIES, ChartBuilder, ChartWindow } from './chart-data';
import { KEY_INDEX, ScannedKey, ScannedReading } from './scanned-reading';

export const SUMMARY_MS = 10_000;

export class SummaryStore {
  private readonly slots: number;
  /** Which 10 s bucket (ts / SUMMARY_MS) each slot holds; -1 empty. */
  private readonly bucket: Float64Array;
  private readonly count: Uint32Array;
  private readonly on: Uint32Array;
  private readonly min: Float32Array[];
  private readonly max: Float32Array[];
  private newestBucket = -1;
  private readonly keys = BAND_SERIES.map((s) => KEY_INDEX[s.key]);

  constructor(keepMs: number) {
    this.slots = Math.ceil(keepMs / SUMMARY_MS) + 1;
    this.bucket = new Float64Array(this.slots).fill(-1);
    this.count = new Uint32Array(this.slots);
    this.on = new Uint32Array(this.slots);
    this.min = BAND_SERIES.map(() => new Float32Array(this.slots));
    this.max = BAND_SERIES.map(() => new Float32Array(this.slots));
  }

  /** The slot of the summary holding `ts`, made empty if it held an older one; -1 when too old to keep. */
  private slotFor(ts: number): number {
    const b = Math.floor(ts / SUMMARY_MS);
    // Older than the ring reaches behind the newest: it would evict something newer.
    if (b <= this.newestBucket - this.slots) return -1;
    if (b > this.newestBucket) this.newestBucket = b;
    const i = b % this.slots;
    if (this.bucket[i] !== b) {
      this.bucket[i] = b;
      this.count[i] = 0;
      this.on[i] = 0;
      for (let s = 0; s < this.keys.length; s++) { this.min[s][i] = NaN; this.max[s][i] = NaN; }
    }
    return i;
  }

  /**
   * One more value of a series that is not in the readings (the battery estimator's SoC,
   * as it is computed): it joins the summary of its time, which shows once a reading is in it.
   */
  addValue(ts: number, key: ScannedKey, x: number): void {
    const s = this.keys.indexOf(KEY_INDEX[key]);
    if (s < 0 || !Number.isFinite(x)) return;
    const i = this.slotFor(ts);
    if (i < 0) return;
    const lo = this.min[s][i];
    if (lo !== lo || x < lo) this.min[s][i] = x;
    const hi = this.max[s][i];
    if (hi !== hi || x > hi) this.max[s][i] = x;
  }

  add(r: ScannedReading): void {
    const i = this.slotFor(r.ts);
    if (i < 0) return;
    this.count[i]++;
    if (r.v[KEY_INDEX.chg] === 1) this.on[i]++;
    for (let s = 0; s < this.keys.length; s++) {
      const x = r.v[this.keys[s]];
      if (x !== x) continue;
      const lo = this.min[s][i];
      if (lo !== lo || x < lo) this.min[s][i] = x;
      const hi = this.max[s][i];
      if (hi !== hi || x > hi) this.max[s][i] = x;
    }
  }

  /** Newest reading time held, to the summary (ms), or -1. */
  newestMs(): number {
    return this.newestBucket < 0 ? -1 : this.newestBucket * SUMMARY_MS;
  }

  /** Every summary inside the window, into a chart. */
  fill(chart: ChartBuilder): void {
    const w: ChartWindow = chart.window;
    const first = Math.max(Math.ceil(w.fromMs / SUMMARY_MS), this.newestBucket - this.slots + 1);
    const last = Math.min(Math.floor((w.toMs - 1) / SUMMARY_MS), this.newestBucket);
    for (let b = first; b <= last; b++) {
      const i = b % this.slots;
      if (this.bucket[i] !== b || this.count[i] === 0) continue;
      chart.addSummary(b * SUMMARY_MS, this.count[i], this.on[i], this.min, this.max, i);
    }
  }
}
