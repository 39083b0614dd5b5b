/**
 * What the chart needs from a run of any length, kept in a fixed number of time
 * buckets (min, max and mean per series), so a week at 1 s polls costs the same
 * memory as an hour.
 */
import type { ReadingRow } from './reading-row';

export const SERIES = [
  'bv', 'trueBv', 'ba', 'la', 'trueChargerA', 'trueSolarA', 'sv', 'trueSv', 'irradiance', 'soc', 'estSoc', 'chg',
  'mainsOut', 'loadOff',
] as const;
export type SeriesName = typeof SERIES[number];

export interface Bucketed {
  min: Float64Array;
  max: Float64Array;
  sum: Float64Array;
  n: Uint32Array;
}

export class ChartData {
  readonly durationS: number;
  readonly points: number;
  readonly series: Record<SeriesName, Bucketed>;
  /** Readings in each bucket with a fault flag set, or in fail-safe. */
  readonly faults: Uint32Array;
  /** Times at which a reading showed a new boot number (an MCU reset). */
  readonly resets: number[] = [];
  rows = 0;
  private lastBoot = -1;

  constructor(durationS: number, points: number) {
    this.durationS = durationS;
    this.points = points;
    const make = (): Bucketed => ({
      min: new Float64Array(points).fill(Infinity),
      max: new Float64Array(points).fill(-Infinity),
      sum: new Float64Array(points),
      n: new Uint32Array(points),
    });
    this.series = Object.fromEntries(SERIES.map((s) => [s, make()])) as Record<SeriesName, Bucketed>;
    this.faults = new Uint32Array(points);
  }

  bucketOf(t: number): number {
    const i = Math.floor(t / this.durationS * this.points);
    return i < 0 ? 0 : i >= this.points ? this.points - 1 : i;
  }

  add(r: ReadingRow): void {
    this.rows++;
    const b = this.bucketOf(r.t);
    this.put('bv', b, r.bv);
    this.put('trueBv', b, r.trueBatteryV);
    this.put('ba', b, r.ba);
    this.put('la', b, r.la);
    this.put('trueChargerA', b, r.trueChargerA);
    this.put('trueSolarA', b, r.trueSolarA);
    this.put('sv', b, r.sv);
    this.put('trueSv', b, r.trueSolarV);
    this.put('irradiance', b, r.trueIrradiance);
    this.put('soc', b, r.trueSoc * 100);
    this.put('estSoc', b, r.estSoc === null ? null : r.estSoc * 100);
    this.put('chg', b, r.chg);
    this.put('mainsOut', b, r.trueMains ? 0 : 1);
    this.put('loadOff', b, r.trueLoadConnected ? 0 : 1);
    if (r.flt !== 0 || r.why === 'failsafe') this.faults[b]++;
    if (this.lastBoot !== -1 && r.boot !== this.lastBoot) this.resets.push(r.t);
    this.lastBoot = r.boot;
  }

  /** Mean of a series in a bucket, or null when it had no value there. */
  mean(name: SeriesName, b: number): number | null {
    const s = this.series[name];
    return s.n[b] > 0 ? s.sum[b] / s.n[b] : null;
  }

  private put(name: SeriesName, b: number, v: number | null): void {
    if (v === null) return;
    const s = this.series[name];
    if (v < s.min[b]) s.min[b] = v;
    if (v > s.max[b]) s.max[b] = v;
    s.sum[b] += v;
    s.n[b]++;
  }
}
