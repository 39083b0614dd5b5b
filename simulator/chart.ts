/**
 * chart.svg: four stacked panels on one time axis — battery voltage with the battery
 * thresholds and the MP3735 cut-off, the currents, the panel voltage with the sun
 * thresholds (irradiance behind it), and the charger state with faults and MCU resets.
 * Solid lines are what the firmware reported; dashed ones are the plant's truth. Noisy
 * series are drawn as a min–max band per pixel column with the mean on top, so a week
 * reads as clearly as an hour.
 */
import type { ChargerThresholds } from '../hardware';
import { ChartData, SeriesName } from './chart-data';

export interface ChartInfo {
  title: string;
  /** Lines under the title (what the scenario is, what the run found). */
  subtitle: string[];
  thresholds: ChargerThresholds | null;
  loadDisconnectV: number;
  /** Local date and clock hour at t = 0, for the time axis. */
  date: string;
  startHour: number;
  utcOffsetH: number;
  /** Scripted events to mark, with their times. */
  marks: Array<{ t: number; label: string }>;
}

const W = 1400;
const H = 965;
const LEFT = 78;
const RIGHT = 78;
const PLOT_W = W - LEFT - RIGHT;

interface Panel {
  top: number;
  height: number;
  lo: number;
  hi: number;
}

const COLORS = {
  battery: '#1f5fbf',
  batteryBand: '#9dbbe8',
  truth: '#555555',
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

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function fmt(x: number, d = 1): string {
  return (Math.round(x * 10 ** d) / 10 ** d).toString();
}

/** A "nice" tick step (1, 2, 2.5, 5 × 10^n) giving about `count` ticks over `span`. */
function niceStep(span: number, count: number): number {
  const raw = span / count;
  const base = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * base >= raw) return m * base;
  return 10 * base;
}

export function renderChart(data: ChartData, info: ChartInfo): string {
  const out: string[] = [];
  const n = data.points;
  const xOf = (b: number): number => LEFT + (b + 0.5) / n * PLOT_W;
  const xOfT = (t: number): number => LEFT + t / data.durationS * PLOT_W;
  const th = info.thresholds;

  const range = (names: SeriesName[], extra: number[], pad: number, minSpan: number): [number, number] => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const name of names) {
      const s = data.series[name];
      for (let b = 0; b < n; b++) {
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
  };

  const bvExtra = th ? [th.batteryOnV, th.batteryOffV] : [];
  const [bvLo, bvHi] = range(['bv', 'trueBv'], bvExtra, 0.15, 1);
  if (bvLo < info.loadDisconnectV + 0.6) bvExtra.push(info.loadDisconnectV);
  const [aLo, aHi] = range(['ba', 'la', 'trueChargerA', 'trueSolarA'], [0], 2, 4);
  const [sLo, sHi] = range(['sv', 'trueSv'], th ? [th.sunDownV, th.sunUpV, 0] : [0], 0.8, 5);
  const panels: Record<'battery' | 'current' | 'solar' | 'charger', Panel> = {
    battery: { top: 100, height: 242, lo: Math.min(bvLo, bvExtra.includes(info.loadDisconnectV) ? info.loadDisconnectV - 0.15 : bvLo), hi: bvHi },
    current: { top: 372, height: 200, lo: aLo, hi: aHi },
    solar: { top: 602, height: 160, lo: Math.max(-0.5, sLo), hi: sHi },
    charger: { top: 792, height: 56, lo: 0, hi: 1 },
  };
  const yOf = (p: Panel, v: number): number => p.top + p.height - (v - p.lo) / (p.hi - p.lo) * p.height;

  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${LEFT}" y="26" font-size="18" font-weight="bold" fill="${COLORS.axis}">${esc(info.title)}</text>`);
  info.subtitle.slice(0, 2).forEach((text, i) => {
    out.push(`<text x="${LEFT}" y="${47 + i * 17}" font-size="12.5" fill="#444">${esc(text)}</text>`);
  });

  // Panel frames, horizontal grid and y axes.
  const yAxis = (p: Panel, unit: string, label: string, ticks = 5): void => {
    out.push(`<rect x="${LEFT}" y="${p.top}" width="${PLOT_W}" height="${p.height}" fill="none" stroke="${COLORS.axis}" stroke-width="1"/>`);
    const step = niceStep(p.hi - p.lo, ticks);
    for (let v = Math.ceil(p.lo / step) * step; v <= p.hi + 1e-9; v += step) {
      const y = yOf(p, v);
      out.push(`<line x1="${LEFT}" y1="${y.toFixed(1)}" x2="${LEFT + PLOT_W}" y2="${y.toFixed(1)}" stroke="${COLORS.grid}"/>`);
      out.push(`<text x="${LEFT - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" fill="${COLORS.axis}">${fmt(v, 2)}</text>`);
    }
    const cy = p.top + p.height / 2;
    out.push(`<text transform="translate(${LEFT - 54},${cy}) rotate(-90)" text-anchor="middle" font-size="13" fill="${COLORS.axis}">${esc(label)} (${unit})</text>`);
  };

  // Time axis: ticks at round local hours, day boundaries stronger.
  const hours = data.durationS / 3600;
  const tickH = hours <= 6 ? 0.5 : hours <= 30 ? 2 : hours <= 80 ? 6 : 12;
  const firstTick = Math.ceil(info.startHour / tickH) * tickH - info.startHour;
  const timeTicks: Array<{ x: number; label: string; midnight: boolean }> = [];
  for (let h = firstTick; h <= hours + 1e-9; h += tickH) {
    const clock = info.startHour + h;
    const hod = ((clock % 24) + 24) % 24;
    const midnight = Math.abs(hod) < 1e-9;
    const hh = Math.floor(hod);
    const mm = Math.round((hod - hh) * 60);
    let label = `${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}`;
    if (midnight && hours > 30) {
      const d = new Date(Date.parse(info.date + 'T00:00:00Z') + Math.floor(clock / 24) * 86400000);
      label = d.toISOString().slice(5, 10);
    }
    timeTicks.push({ x: xOfT(h * 3600), label, midnight });
  }
  for (const p of Object.values(panels)) {
    for (const tk of timeTicks) {
      out.push(`<line x1="${tk.x.toFixed(1)}" y1="${p.top}" x2="${tk.x.toFixed(1)}" y2="${p.top + p.height}" stroke="${tk.midnight ? '#bbbbbb' : COLORS.grid}"${tk.midnight ? ' stroke-width="1.5"' : ''}/>`);
    }
  }
  const axisY = panels.charger.top + panels.charger.height;
  for (const tk of timeTicks) {
    out.push(`<line x1="${tk.x.toFixed(1)}" y1="${axisY}" x2="${tk.x.toFixed(1)}" y2="${axisY + 5}" stroke="${COLORS.axis}"/>`);
    out.push(`<text x="${tk.x.toFixed(1)}" y="${axisY + 18}" text-anchor="middle" fill="${COLORS.axis}">${tk.label}</text>`);
  }
  out.push(`<text x="${LEFT + PLOT_W / 2}" y="${axisY + 96}" text-anchor="middle" font-size="13" fill="${COLORS.axis}">local time (from ${esc(info.date)}, UTC${info.utcOffsetH >= 0 ? '+' : ''}${info.utcOffsetH}${hours > 30 ? `; ${fmt(hours / 24, 1)} days` : ''})</text>`);

  const band = (p: Panel, name: SeriesName, fill: string): void => {
    const s = data.series[name];
    const upper: string[] = [];
    const lower: string[] = [];
    const flush = (): void => {
      if (upper.length > 0) out.push(`<polygon points="${upper.join(' ')} ${lower.reverse().join(' ')}" fill="${fill}" stroke="none"/>`);
      upper.length = 0;
      lower.length = 0;
    };
    for (let b = 0; b < n; b++) {
      if (s.n[b] === 0) { flush(); continue; }
      const x = xOf(b).toFixed(1);
      upper.push(`${x},${yOf(p, s.max[b]).toFixed(1)}`);
      lower.push(`${x},${yOf(p, s.min[b]).toFixed(1)}`);
    }
    flush();
  };
  const line = (p: Panel, name: SeriesName, color: string, width: number, dash = ''): void => {
    let d = '';
    let pen = false;
    for (let b = 0; b < n; b++) {
      const v = data.mean(name, b);
      if (v === null) { pen = false; continue; }
      d += `${pen ? 'L' : 'M'}${xOf(b).toFixed(1)},${yOf(p, v).toFixed(1)}`;
      pen = true;
    }
    if (d) out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="${width}" stroke-linejoin="round"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
  };
  const hline = (p: Panel, v: number, color: string, label: string): void => {
    if (v < p.lo || v > p.hi) return;
    const y = yOf(p, v).toFixed(1);
    out.push(`<line x1="${LEFT}" y1="${y}" x2="${LEFT + PLOT_W}" y2="${y}" stroke="${color}" stroke-width="1.5" stroke-dasharray="8 5"/>`);
    out.push(`<text x="${LEFT + PLOT_W - 4}" y="${(Number(y) - 4).toFixed(1)}" text-anchor="end" fill="${color}" font-size="11" stroke="#fff" stroke-width="3" paint-order="stroke">${esc(label)}</text>`);
  };
  // Legends sit in the gap above each panel, clear of the data.
  const legend = (p: Panel, items: Array<[string, string, string]>): void => {
    let x = LEFT + 4;
    const y = p.top - 8;
    for (const [color, text, dash] of items) {
      out.push(`<line x1="${x}" y1="${y - 4}" x2="${x + 22}" y2="${y - 4}" stroke="${color}" stroke-width="2.5"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
      out.push(`<text x="${x + 27}" y="${y}" fill="${COLORS.axis}" font-size="11.5">${esc(text)}</text>`);
      x += 40 + text.length * 6.6;
    }
  };

  // 1. Battery voltage.
  const pb = panels.battery;
  yAxis(pb, 'V', 'battery');
  band(pb, 'bv', COLORS.batteryBand);
  line(pb, 'trueBv', COLORS.truth, 1.2, '5 3');
  line(pb, 'bv', COLORS.battery, 1.6);
  if (th) {
    hline(pb, th.batteryOnV, COLORS.off, `battery low: charger ON below ${fmt(th.batteryOnV, 2)} V`);
    hline(pb, th.batteryOffV, COLORS.on, `battery released above ${fmt(th.batteryOffV, 2)} V`);
  }
  hline(pb, info.loadDisconnectV, '#666666', `MP3735 load disconnect ${fmt(info.loadDisconnectV, 1)} V`);
  legend(pb, [[COLORS.battery, 'battery V (firmware)', ''], [COLORS.truth, 'true battery V', '5 3'], [COLORS.batteryBand, 'min-max per column', '']]);

  // 2. Currents.
  const pc = panels.current;
  yAxis(pc, 'A', 'current');
  const zero = yOf(pc, 0).toFixed(1);
  out.push(`<line x1="${LEFT}" y1="${zero}" x2="${LEFT + PLOT_W}" y2="${zero}" stroke="#888" stroke-width="1"/>`);
  band(pc, 'ba', COLORS.batteryBand);
  line(pc, 'trueChargerA', COLORS.charger, 1.4, '5 3');
  line(pc, 'trueSolarA', COLORS.solarA, 1.4, '5 3');
  line(pc, 'la', COLORS.load, 1.4);
  line(pc, 'ba', COLORS.battery, 1.6);
  legend(pc, [[COLORS.battery, 'battery A (+ charging, firmware)', ''], [COLORS.load, 'load A (firmware)', ''],
    [COLORS.charger, 'mains charger output (true)', '5 3'], [COLORS.solarA, 'MP3735 solar output (true)', '5 3']]);

  // 3. Panel voltage, irradiance behind it on its own axis.
  const ps = panels.solar;
  const irr = data.series.irradiance;
  let gMax = 0;
  for (let b = 0; b < n; b++) if (irr.n[b] > 0 && irr.max[b] > gMax) gMax = irr.max[b];
  gMax = Math.max(200, Math.ceil(gMax / 200) * 200);
  const yG = (g: number): number => ps.top + ps.height - g / gMax * ps.height;
  let area = `M${LEFT},${ps.top + ps.height}`;
  for (let b = 0; b < n; b++) {
    const g = data.mean('irradiance', b);
    area += `L${xOf(b).toFixed(1)},${yG(g ?? 0).toFixed(1)}`;
  }
  area += `L${LEFT + PLOT_W},${ps.top + ps.height}Z`;
  out.push(`<path d="${area}" fill="${COLORS.irradiance}" stroke="none"/>`);
  yAxis(ps, 'V', 'solar panel');
  for (let g = 0; g <= gMax; g += gMax / 4) {
    out.push(`<text x="${LEFT + PLOT_W + 6}" y="${(yG(g) + 4).toFixed(1)}" fill="#a08000">${g.toFixed(0)}</text>`);
  }
  out.push(`<text transform="translate(${W - 22},${ps.top + ps.height / 2}) rotate(90)" text-anchor="middle" font-size="13" fill="#a08000">irradiance (W/m²)</text>`);
  band(ps, 'sv', COLORS.solarBand);
  line(ps, 'trueSv', COLORS.truth, 1.2, '5 3');
  line(ps, 'sv', COLORS.solarV, 1.6);
  if (th) {
    hline(ps, th.sunDownV, COLORS.off, `sun down: charger ON below ${fmt(th.sunDownV, 2)} V`);
    hline(ps, th.sunUpV, COLORS.on, `sun up above ${fmt(th.sunUpV, 2)} V`);
  }
  legend(ps, [[COLORS.solarV, 'panel V (firmware; band = PWM on/off)', ''], [COLORS.truth, 'true panel V', '5 3'], ['#e8d27a', 'irradiance (right axis)', '']]);

  // 4. Charger state, faults, resets.
  const pk = panels.charger;
  out.push(`<rect x="${LEFT}" y="${pk.top}" width="${PLOT_W}" height="${pk.height}" fill="#fafafa" stroke="${COLORS.axis}"/>`);
  let step = `M${LEFT},${pk.top + pk.height}`;
  for (let b = 0; b < n; b++) {
    const v = data.mean('chg', b);
    const x0 = LEFT + b / n * PLOT_W;
    const x1 = LEFT + (b + 1) / n * PLOT_W;
    const y = pk.top + pk.height - (v ?? 0) * (pk.height - 16);
    step += `L${x0.toFixed(1)},${y.toFixed(1)}L${x1.toFixed(1)},${y.toFixed(1)}`;
  }
  step += `L${LEFT + PLOT_W},${pk.top + pk.height}Z`;
  out.push(`<path d="${step}" fill="${COLORS.on}" fill-opacity="0.55" stroke="${COLORS.on}" stroke-width="1"/>`);
  // Why an ON charger may deliver nothing (mains out), and when the cluster had no power.
  const strip = (name: SeriesName, y: number, h: number, fill: string, opacity: number): boolean => {
    let any = false;
    let start = -1;
    for (let b = 0; b <= n; b++) {
      const v = b < n ? data.mean(name, b) : null;
      const on = v !== null && v >= 0.5;
      if (on && start < 0) start = b;
      if (!on && start >= 0) {
        any = true;
        const x0 = LEFT + start / n * PLOT_W;
        out.push(`<rect x="${x0.toFixed(1)}" y="${y}" width="${((b - start) / n * PLOT_W).toFixed(1)}" height="${h}" fill="${fill}" fill-opacity="${opacity}"/>`);
        start = -1;
      }
    }
    return any;
  };
  const mainsOut = strip('mainsOut', pk.top, pk.height, COLORS.mainsOut, 0.35);
  const loadOff = strip('loadOff', pk.top + pk.height - 7, 7, COLORS.loadOff, 0.9);
  out.push(`<text x="${LEFT - 6}" y="${pk.top + 20}" text-anchor="end" fill="${COLORS.axis}">ON</text>`);
  out.push(`<text x="${LEFT - 6}" y="${pk.top + pk.height}" text-anchor="end" fill="${COLORS.axis}">OFF</text>`);
  out.push(`<text transform="translate(${LEFT - 54},${pk.top + pk.height / 2}) rotate(-90)" text-anchor="middle" font-size="13" fill="${COLORS.axis}">charger</text>`);
  let faultsShown = 0;
  for (let b = 0; b < n; b++) {
    if (data.faults[b] === 0) continue;
    faultsShown++;
    const x = xOf(b).toFixed(1);
    out.push(`<line x1="${x}" y1="${pk.top}" x2="${x}" y2="${pk.top + 10}" stroke="${COLORS.fault}" stroke-width="2.5"/>`);
  }
  for (const t of data.resets) {
    const x = xOfT(t).toFixed(1);
    out.push(`<line x1="${x}" y1="${panels.battery.top}" x2="${x}" y2="${pk.top + pk.height}" stroke="${COLORS.reset}" stroke-width="1.5" stroke-dasharray="3 3"/>`);
    out.push(`<text x="${x}" y="${panels.battery.top - 4}" text-anchor="middle" fill="${COLORS.reset}" font-size="11">MCU reset</text>`);
  }
  // Scripted events: a marker under the axis, and a label when there is room (three rows).
  const rowEnd = [-Infinity, -Infinity, -Infinity];
  for (const m of info.marks) {
    const x = xOfT(m.t);
    out.push(`<path d="M${x.toFixed(1)},${pk.top + pk.height + 1}l-4,6h8z" fill="#555"/>`);
    if (m.label === '') continue;
    const width = m.label.length * 6.2;
    const row = rowEnd.findIndex((end) => x - width / 2 > end + 6);
    if (row < 0) continue;
    rowEnd[row] = x + width / 2;
    const y = axisY + 38 + row * 14;
    out.push(`<line x1="${x.toFixed(1)}" y1="${axisY + 24}" x2="${x.toFixed(1)}" y2="${y - 10}" stroke="#999"/>`);
    out.push(`<text x="${x.toFixed(1)}" y="${y}" text-anchor="middle" font-size="11" fill="#333">${esc(m.label)}</text>`);
  }
  const pkLegend: Array<[string, string, string]> = [[COLORS.on, 'charger ON (share of each column)', ''], [COLORS.fault, `fault or fail-safe reading${faultsShown ? '' : ' (none)'}`, '']];
  if (mainsOut) pkLegend.push([COLORS.mainsOut, 'mains out (grey)', '']);
  if (loadOff) pkLegend.push([COLORS.loadOff, 'cluster load cut by MP3735', '']);
  if (info.marks.length > 0) pkLegend.push(['#555', 'scripted event (▲ below the axis)', '']);
  legend(pk, pkLegend);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
