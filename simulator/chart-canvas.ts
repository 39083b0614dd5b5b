/**
 * Drawing primitives for chart.svg: a list of SVG elements and a shared time axis
 * (one column per chart-data bucket), with y axes, min–max bands, mean lines,
 * threshold lines and legends drawn into panels.
 */
import type { ChartData, SeriesName } from './chart-data';

export const WIDTH = 1400;
export const HEIGHT = 1115;
export const LEFT = 78;
const RIGHT = 78;
export const PLOT_WIDTH = WIDTH - LEFT - RIGHT;

export const COLORS = {
  battery: '#1f5fbf',
  batteryBand: '#9dbbe8',
  truth: '#555555',
  estimate: '#00897b',
  load: '#e07b00',
  charger: '#7b3fb5',
  solarA: '#c9a000',
  solarV: '#b36b00',
  solarBand: '#f0cf8a',
  irradiance: '#fff3b8',
  on: '#2e9e4f',
  off: '#c9302c',
  fault: '#d62728',
  reset: '#c2185b',
  mainsOut: '#6b6b6b',
  loadOff: '#e65100',
  grid: '#e4e4e4',
  axis: '#333333',
};

/** A panel's place on the page and the values its height spans. */
export interface Panel {
  top: number;
  height: number;
  lo: number;
  hi: number;
}

/** A legend entry: colour, text, dash pattern ('' for solid). */
export type LegendItem = [string, string, string];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A number rounded to `decimals` and printed as short as it goes (12.5, not 12.50). */
export function rounded(x: number, decimals = 1): string {
  return (Math.round(x * 10 ** decimals) / 10 ** decimals).toString();
}

/** A "nice" tick step (1, 2, 2.5, 5 × 10^n) giving about `count` ticks over `span`. */
function niceStep(span: number, count: number): number {
  const raw = span / count;
  const base = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * base >= raw) return m * base;
  return 10 * base;
}

export class ChartCanvas {
  readonly out: string[] = [];
  /** Columns across the plot: one per chart-data bucket. */
  readonly columns: number;

  constructor(readonly data: ChartData) {
    this.columns = data.points;
  }

  /** x of a column's centre. */
  xOfColumn(b: number): number {
    return LEFT + (b + 0.5) / this.columns * PLOT_WIDTH;
  }

  /** x of a time in seconds from the start of the run. */
  xOfTime(t: number): number {
    return LEFT + t / this.data.durationS * PLOT_WIDTH;
  }

  yOf(p: Panel, v: number): number {
    return p.top + p.height - (v - p.lo) / (p.hi - p.lo) * p.height;
  }

  /** Lowest and highest value of some series (and of `extra`), padded, at least `minSpan` apart. */
  range(names: SeriesName[], extra: number[], pad: number, minSpan: number): [number, number] {
    let lo = Infinity;
    let hi = -Infinity;
    for (const name of names) {
      const s = this.data.series[name];
      for (let b = 0; b < this.columns; b++) {
        if (s.n[b] === 0) continue;
        if (s.min[b] < lo) lo = s.min[b];
        if (s.max[b] > hi) hi = s.max[b];
      }
    }
    for (const e of extra) {
      if (e < lo) lo = e;
      if (e > hi) hi = e;
    }
    if (!isFinite(lo)) { lo = 0; hi = 1; }
    if (hi - lo < minSpan) { const mid = (lo + hi) / 2; lo = mid - minSpan / 2; hi = mid + minSpan / 2; }
    return [lo - pad, hi + pad];
  }

  /** The panel's frame, horizontal grid and left y axis. */
  yAxis(p: Panel, unit: string, label: string, ticks = 5): void {
    const out = this.out;
    out.push(`<rect x="${LEFT}" y="${p.top}" width="${PLOT_WIDTH}" height="${p.height}" fill="none" stroke="${COLORS.axis}" stroke-width="1"/>`);
    const step = niceStep(p.hi - p.lo, ticks);
    for (let v = Math.ceil(p.lo / step) * step; v <= p.hi + 1e-9; v += step) {
      const y = this.yOf(p, v);
      out.push(`<line x1="${LEFT}" y1="${y.toFixed(1)}" x2="${LEFT + PLOT_WIDTH}" y2="${y.toFixed(1)}" stroke="${COLORS.grid}"/>`);
      out.push(`<text x="${LEFT - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" fill="${COLORS.axis}">${rounded(v, 2)}</text>`);
    }
    const cy = p.top + p.height / 2;
    out.push(`<text transform="translate(${LEFT - 54},${cy}) rotate(-90)" text-anchor="middle" font-size="13" fill="${COLORS.axis}">${escapeXml(label)} (${unit})</text>`);
  }

  /** A series' min–max per column as filled polygons, broken where it has no value. */
  band(p: Panel, name: SeriesName, fill: string): void {
    const s = this.data.series[name];
    const upper: string[] = [];
    const lower: string[] = [];
    const flush = (): void => {
      if (upper.length > 0) this.out.push(`<polygon points="${upper.join(' ')} ${lower.reverse().join(' ')}" fill="${fill}" stroke="none"/>`);
      upper.length = 0;
      lower.length = 0;
    };
    for (let b = 0; b < this.columns; b++) {
      if (s.n[b] === 0) { flush(); continue; }
      const x = this.xOfColumn(b).toFixed(1);
      upper.push(`${x},${this.yOf(p, s.max[b]).toFixed(1)}`);
      lower.push(`${x},${this.yOf(p, s.min[b]).toFixed(1)}`);
    }
    flush();
  }

  /** A series' mean per column as a path, lifted where it has no value. */
  line(p: Panel, name: SeriesName, color: string, width: number, dash = ''): void {
    let d = '';
    let penDown = false;
    for (let b = 0; b < this.columns; b++) {
      const v = this.data.mean(name, b);
      if (v === null) { penDown = false; continue; }
      d += `${penDown ? 'L' : 'M'}${this.xOfColumn(b).toFixed(1)},${this.yOf(p, v).toFixed(1)}`;
      penDown = true;
    }
    if (d) this.out.push(`<path d="${d}" data-series="${name}" fill="none" stroke="${color}" stroke-width="${width}" stroke-linejoin="round"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
  }

  /** A labelled dashed line across the panel at `v`, if it is in view. */
  thresholdLine(p: Panel, v: number, color: string, label: string): void {
    if (v < p.lo || v > p.hi) return;
    const y = this.yOf(p, v).toFixed(1);
    this.out.push(`<line x1="${LEFT}" y1="${y}" x2="${LEFT + PLOT_WIDTH}" y2="${y}" stroke="${color}" stroke-width="1.5" stroke-dasharray="8 5"/>`);
    this.out.push(`<text x="${LEFT + PLOT_WIDTH - 4}" y="${(Number(y) - 4).toFixed(1)}" text-anchor="end" fill="${color}" font-size="11" stroke="#fff" stroke-width="3" paint-order="stroke">${escapeXml(label)}</text>`);
  }

  /** Legends sit in the gap above each panel, clear of the data. */
  legend(p: Panel, items: LegendItem[]): void {
    let x = LEFT + 4;
    const y = p.top - 8;
    for (const [color, text, dash] of items) {
      this.out.push(`<line x1="${x}" y1="${y - 4}" x2="${x + 22}" y2="${y - 4}" stroke="${color}" stroke-width="2.5"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
      this.out.push(`<text x="${x + 27}" y="${y}" fill="${COLORS.axis}" font-size="11.5">${escapeXml(text)}</text>`);
      x += 40 + text.length * 6.6;
    }
  }
}
