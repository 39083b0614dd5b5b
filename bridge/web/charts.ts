/**
 * The history charts (uPlot): min/max bands per pixel column as the bridge sends them,
 * threshold lines, a charger strip, and a state-of-charge chart when the data has one.
 * Zoom (drag) and hover are uPlot's own; zooming one chart zooms them all.
 */
import uPlot from 'uplot';
import type { ChartData, ReadingState } from './api';

interface BandDef { key: string; label: string; color: string; unit: string; decimals: number }
interface ChartDef {
  id: string;
  title: string;
  height: number;
  bands: BandDef[];
  /** Threshold keys drawn as dashed lines, with their labels. */
  lines?: Array<{ key: string; label: string }>;
  /** Shown only when the data carries this series (SoC: when the battery estimator lands). */
  optional?: string;
  strip?: boolean;
}

const CHARTS: ChartDef[] = [
  { id: 'chart-bv', title: 'Battery voltage', height: 220, bands: [{ key: 'bv', label: 'Battery', color: '#2f7de1', unit: 'V', decimals: 2 }], lines: [{ key: 'bon', label: 'ON below' }, { key: 'boff', label: 'OFF above' }] },
  { id: 'chart-a', title: 'Currents', height: 200, bands: [
    { key: 'ba', label: 'Battery', color: '#2f7de1', unit: 'A', decimals: 2 },
    { key: 'la', label: 'Load', color: '#e0702b', unit: 'A', decimals: 2 },
    { key: 'sa', label: 'Solar', color: '#d9a400', unit: 'A', decimals: 2 },
  ] },
  { id: 'chart-sv', title: 'Panel voltage', height: 170, bands: [{ key: 'sv', label: 'Panel', color: '#d9a400', unit: 'V', decimals: 1 }], lines: [{ key: 'sdn', label: 'sun down' }, { key: 'sup', label: 'sun up' }] },
  { id: 'chart-soc', title: 'State of charge', height: 170, optional: 'soc', bands: [{ key: 'soc', label: 'SoC', color: '#2e9d55', unit: '%', decimals: 0 }] },
  { id: 'chart-chg', title: 'Charger ON', height: 90, bands: [], strip: true },
];

function css(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

function alpha(hex: string, a: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
}

export class Charts {
  private plots: Array<{ def: ChartDef; plot: uPlot; bands: BandDef[] }> = [];
  private data: ChartData | null = null;
  private syncing = false;

  constructor(private readonly root: HTMLElement) {
    new ResizeObserver(() => this.resize()).observe(root);
  }

  private width(): number {
    return Math.max(260, Math.floor(this.root.clientWidth));
  }

  /** Replaces everything with fresh data from /api/chart. */
  show(d: ChartData): void {
    this.data = d;
    this.root.dataset.points = String(d.points);
    this.root.dataset.range = d.range;
    this.root.dataset.newest = String(d.newest_ms ?? '');
    this.root.dataset.from = String(d.from_ms);
    this.root.dataset.column = String(d.column_ms);
    for (const p of this.plots) p.plot.destroy();
    this.plots = [];
    this.root.textContent = '';
    if (d.points === 0) {
      const p = document.createElement('p');
      p.className = 'muted';
      p.textContent = 'No readings in this range yet.';
      this.root.append(p);
      return;
    }
    for (const def of CHARTS) {
      if (def.optional && !d.series[def.optional]) continue;
      const bands = def.bands.filter((b) => d.series[b.key]);
      if (!def.strip && bands.length === 0) continue;
      const box = document.createElement('figure');
      box.className = 'chart';
      box.id = def.id;
      const cap = document.createElement('figcaption');
      cap.textContent = def.title;
      box.append(cap);
      this.root.append(box);
      this.plots.push({ def, bands, plot: new uPlot(this.options(def, bands), this.columns(def, bands), box) });
    }
  }

  /** A live reading: widens the newest column or adds one, without asking the bridge. False: outside the window (refetch). */
  add(r: ReadingState): boolean {
    const d = this.data;
    if (!d || r.timestamp_ms < d.from_ms) return true;
    if (r.timestamp_ms >= d.to_ms) return false;
    const start = (d.from_ms + Math.floor((r.timestamp_ms - d.from_ms) / d.column_ms) * d.column_ms) / 1000;
    let i = d.t.length - 1;
    if (i < 0 || d.t[i] < start) {
      d.t.push(start);
      d.charger_on.push(r.charger.on ? 1 : 0);
      for (const s of Object.values(d.series)) { s.min.push(null); s.max.push(null); }
      d.points++;
      i++;
    } else if (d.t[i] !== start) {
      return true; // an older column: leave it as the bridge binned it
    } else {
      d.charger_on[i] = Math.max(d.charger_on[i], r.charger.on ? 1 : 0);
    }
    const values: { [k: string]: number | null | undefined } = { bv: r.battery.voltage, ba: r.battery.current, la: r.load.current, sv: r.solar.voltage, sa: r.solar.current };
    for (const [k, s] of Object.entries(d.series)) {
      const v = values[k];
      if (v === null || v === undefined) continue;
      s.min[i] = s.min[i] === null ? v : Math.min(s.min[i] as number, v);
      s.max[i] = s.max[i] === null ? v : Math.max(s.max[i] as number, v);
    }
    d.newest_ms = r.timestamp_ms;
    this.root.dataset.points = String(d.points);
    this.root.dataset.newest = String(d.newest_ms);
    for (const p of this.plots) p.plot.setData(this.columns(p.def, p.bands), false);
    for (const p of this.plots) p.plot.redraw(false);
    return true;
  }

  setThresholds(t: { [k: string]: number } | null): void {
    if (this.data) this.data.thresholds = t;
    for (const p of this.plots) p.plot.redraw(false);
  }

  private resize(): void {
    const w = this.width();
    for (const p of this.plots) if (p.plot.width !== w) p.plot.setSize({ width: w, height: p.def.height });
  }

  /** uPlot's columns: time, then max and min of each band; a null row breaks the line over a gap. */
  private columns(def: ChartDef, bands: BandDef[]): uPlot.AlignedData {
    const d = this.data!;
    const gap = (d.column_ms / 1000) * 3;
    const t: number[] = [];
    const cols: Array<Array<number | null>> = def.strip ? [[]] : bands.flatMap(() => [[], []]);
    for (let i = 0; i < d.t.length; i++) {
      if (i > 0 && d.t[i] - d.t[i - 1] > gap) {
        t.push(d.t[i - 1] + d.column_ms / 1000);
        for (const c of cols) c.push(null);
      }
      t.push(d.t[i]);
      if (def.strip) cols[0].push(d.charger_on[i]);
      else bands.forEach((b, j) => { cols[2 * j].push(d.series[b.key].max[i]); cols[2 * j + 1].push(d.series[b.key].min[i]); });
    }
    return [t, ...cols] as uPlot.AlignedData;
  }

  private options(def: ChartDef, bands: BandDef[]): uPlot.Options {
    const fg = css('--muted');
    const grid = css('--grid');
    const series: uPlot.Series[] = [{}];
    const bandOpts: uPlot.Band[] = [];
    if (def.strip) {
      series.push({ label: 'ON', stroke: '#2e9d55', fill: alpha('#2e9d55', 0.35), width: 1, points: { show: false }, paths: uPlot.paths.stepped!({ align: 1 }), value: (_u, v) => (v === null ? '–' : v >= 0.995 ? 'ON' : v <= 0.005 ? 'OFF' : `ON ${Math.round(v * 100)}%`) });
    }
    bands.forEach((b, j) => {
      const fmt = (_u: uPlot, v: number | null): string => (v === null ? '–' : `${v.toFixed(b.decimals)} ${b.unit}`);
      series.push({ label: `${b.label} max`, stroke: b.color, width: 1.25, value: fmt, points: { show: false } });
      series.push({ label: 'min', stroke: b.color, width: 1.25, value: fmt, points: { show: false } });
      bandOpts.push({ series: [1 + 2 * j, 2 + 2 * j], fill: alpha(b.color, 0.25) });
    });
    const lines = def.lines ?? [];
    return {
      width: this.width(),
      height: def.height,
      series,
      bands: bandOpts,
      cursor: { sync: { key: 'history' }, drag: { x: true, y: false } },
      legend: { live: true },
      scales: def.strip ? { x: { time: true }, y: { range: [0, 1] } } : { x: { time: true }, y: { range: (_u, lo, hi) => this.yRange(lines, lo, hi) } },
      axes: [
        { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
        def.strip
          ? { stroke: fg, grid: { show: false }, splits: () => [0, 1], values: (_u, s) => s.map((v) => (v === 1 ? 'ON' : 'OFF')), size: 50 }
          : { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: 50 },
      ],
      hooks: {
        draw: [(u) => this.drawLines(u, lines)],
        setScale: [(u, key) => this.syncZoom(u, key)],
      },
    };
  }

  /** The data's range, widened to show the threshold lines, with a little air. */
  private yRange(lines: Array<{ key: string }>, lo: number, hi: number): uPlot.Range.MinMax {
    const t = this.data?.thresholds;
    for (const l of lines) {
      const v = t?.[l.key];
      if (v === undefined) continue;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const pad = Math.max((hi - lo) * 0.08, 0.05);
    return [lo - pad, hi + pad];
  }

  private drawLines(u: uPlot, lines: Array<{ key: string; label: string }>): void {
    const t = this.data?.thresholds;
    if (!t) return;
    const ctx = u.ctx;
    ctx.save();
    ctx.setLineDash([6, 4]);
    ctx.lineWidth = 1.5 * devicePixelRatio;
    ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
    ctx.textAlign = 'left';
    for (const l of lines) {
      const v = t[l.key];
      if (v === undefined) continue;
      const y = u.valToPos(v, 'y', true);
      if (y < u.bbox.top || y > u.bbox.top + u.bbox.height) continue;
      const lower = l.key === 'bon' || l.key === 'sdn';
      ctx.strokeStyle = lower ? '#c0392b' : '#2e9d55';
      // The lower threshold's label under its line, the upper's over it: close lines stay readable.
      ctx.textBaseline = lower ? 'top' : 'bottom';
      ctx.fillStyle = ctx.strokeStyle;
      ctx.beginPath();
      ctx.moveTo(u.bbox.left, y);
      ctx.lineTo(u.bbox.left + u.bbox.width, y);
      ctx.stroke();
      ctx.fillText(`${l.label} ${v.toFixed(2)} V`, u.bbox.left + 6 * devicePixelRatio, y + (lower ? 3 : -3) * devicePixelRatio);
    }
    ctx.restore();
  }

  private syncZoom(src: uPlot, key: string): void {
    if (key !== 'x' || this.syncing) return;
    this.syncing = true;
    const { min, max } = src.scales.x;
    for (const p of this.plots) if (p.plot !== src && min !== undefined && max !== undefined) p.plot.setScale('x', { min, max });
    this.syncing = false;
  }
}
