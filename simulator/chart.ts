/**
 * chart.svg: five stacked panels on one time axis — battery voltage with the battery
 * thresholds and the MP3735 cut-off, state of charge (the plant's true one, and a host
 * estimator's when one was attached to the run), the currents, the panel voltage with
 * the sun thresholds (irradiance behind it), and the charger state with faults and MCU
 * resets.
 * Solid lines are what the firmware reported; dashed ones are the plant's truth. Noisy
 * series are drawn as a min–max band per pixel column with the mean on top, so a week
 * reads as clearly as an hour. Drawing primitives are in chart-canvas.ts.
 */
import type { ChargerThresholds } from '../hardware';
import type { ChartData, SeriesName } from './chart-data';
import {
  COLORS, ChartCanvas, HEIGHT, LEFT, LegendItem, PLOT_WIDTH, Panel, WIDTH, escapeXml, rounded,
} from './chart-canvas';

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

interface Panels {
  battery: Panel;
  soc: Panel;
  current: Panel;
  solar: Panel;
  charger: Panel;
}

export function renderChart(data: ChartData, info: ChartInfo): string {
  const canvas = new ChartCanvas(data);
  const panels = layOut(canvas, info);
  drawHeader(canvas, info);
  const axisY = drawTimeAxis(canvas, panels, info);
  drawBatteryPanel(canvas, panels.battery, info);
  drawSocPanel(canvas, panels.soc);
  drawCurrentPanel(canvas, panels.current);
  drawSolarPanel(canvas, panels.solar, info.thresholds);
  drawChargerPanel(canvas, panels, info, axisY);
  canvas.out.push('</svg>');
  return canvas.out.join('\n') + '\n';
}

/** Each panel's place and value range, from the data and the lines it must show. */
function layOut(canvas: ChartCanvas, info: ChartInfo): Panels {
  const thresholds = info.thresholds;
  const batteryExtra = thresholds ? [thresholds.batteryOnV, thresholds.batteryOffV] : [];
  const [batteryLo, batteryHi] = canvas.range(['bv', 'trueBv'], batteryExtra, 0.15, 1);
  // The MP3735's cut-off joins the battery panel when the data comes near it (or a threshold sits on it).
  const showCutOff = batteryLo < info.loadDisconnectV + 0.6 || batteryExtra.includes(info.loadDisconnectV);
  const [currentLo, currentHi] = canvas.range(['ba', 'la', 'trueChargerA', 'trueSolarA'], [0], 2, 4);
  const [solarLo, solarHi] = canvas.range(['sv', 'trueSv'], thresholds ? [thresholds.sunDownV, thresholds.sunUpV, 0] : [0], 0.8, 5);
  return {
    battery: { top: 100, height: 242, lo: Math.min(batteryLo, showCutOff ? info.loadDisconnectV - 0.15 : batteryLo), hi: batteryHi },
    soc: { top: 372, height: 120, lo: 0, hi: 100 },
    current: { top: 522, height: 200, lo: currentLo, hi: currentHi },
    solar: { top: 752, height: 160, lo: Math.max(-0.5, solarLo), hi: solarHi },
    charger: { top: 942, height: 56, lo: 0, hi: 1 },
  };
}

function drawHeader(canvas: ChartCanvas, info: ChartInfo): void {
  const out = canvas.out;
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`);
  out.push(`<text x="${LEFT}" y="26" font-size="18" font-weight="bold" fill="${COLORS.axis}">${escapeXml(info.title)}</text>`);
  info.subtitle.slice(0, 2).forEach((text, i) => {
    out.push(`<text x="${LEFT}" y="${47 + i * 17}" font-size="12.5" fill="#444">${escapeXml(text)}</text>`);
  });
}

/** Ticks at round local hours through every panel (day boundaries stronger), labels under the last; returns the axis's y. */
function drawTimeAxis(canvas: ChartCanvas, panels: Panels, info: ChartInfo): number {
  const out = canvas.out;
  const hours = canvas.data.durationS / 3600;
  const tickH = hours <= 6 ? 0.5 : hours <= 30 ? 2 : hours <= 80 ? 6 : 12;
  const firstTick = Math.ceil(info.startHour / tickH) * tickH - info.startHour;
  const ticks: Array<{ x: number; label: string; midnight: boolean }> = [];
  for (let h = firstTick; h <= hours + 1e-9; h += tickH) {
    const clock = info.startHour + h;
    const hourOfDay = ((clock % 24) + 24) % 24;
    const midnight = Math.abs(hourOfDay) < 1e-9;
    const hh = Math.floor(hourOfDay);
    const mm = Math.round((hourOfDay - hh) * 60);
    let label = `${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}`;
    if (midnight && hours > 30) {
      const day = new Date(Date.parse(info.date + 'T00:00:00Z') + Math.floor(clock / 24) * 86400000);
      label = day.toISOString().slice(5, 10);
    }
    ticks.push({ x: canvas.xOfTime(h * 3600), label, midnight });
  }
  for (const p of Object.values(panels) as Panel[]) {
    for (const tick of ticks) {
      out.push(`<line x1="${tick.x.toFixed(1)}" y1="${p.top}" x2="${tick.x.toFixed(1)}" y2="${p.top + p.height}" stroke="${tick.midnight ? '#bbbbbb' : COLORS.grid}"${tick.midnight ? ' stroke-width="1.5"' : ''}/>`);
    }
  }
  const axisY = panels.charger.top + panels.charger.height;
  for (const tick of ticks) {
    out.push(`<line x1="${tick.x.toFixed(1)}" y1="${axisY}" x2="${tick.x.toFixed(1)}" y2="${axisY + 5}" stroke="${COLORS.axis}"/>`);
    out.push(`<text x="${tick.x.toFixed(1)}" y="${axisY + 18}" text-anchor="middle" fill="${COLORS.axis}">${tick.label}</text>`);
  }
  out.push(`<text x="${LEFT + PLOT_WIDTH / 2}" y="${axisY + 96}" text-anchor="middle" font-size="13" fill="${COLORS.axis}">local time (from ${escapeXml(info.date)}, UTC${info.utcOffsetH >= 0 ? '+' : ''}${info.utcOffsetH}${hours > 30 ? `; ${rounded(hours / 24, 1)} days` : ''})</text>`);
  return axisY;
}

function drawBatteryPanel(canvas: ChartCanvas, p: Panel, info: ChartInfo): void {
  const thresholds = info.thresholds;
  canvas.yAxis(p, 'V', 'battery');
  drawLatchVoltage(canvas, p, { measured: 'bv', truth: 'trueBv', color: COLORS.battery, band: COLORS.batteryBand },
    thresholds && [thresholds.batteryOnV, `battery low: charger ON below ${rounded(thresholds.batteryOnV, 2)} V`],
    thresholds && [thresholds.batteryOffV, `battery released above ${rounded(thresholds.batteryOffV, 2)} V`]);
  canvas.thresholdLine(p, info.loadDisconnectV, '#666666', `MP3735 load disconnect ${rounded(info.loadDisconnectV, 1)} V`);
  canvas.legend(p, [[COLORS.battery, 'battery V (firmware)', ''], [COLORS.truth, 'true battery V', '5 3'], [COLORS.batteryBand, 'min-max per column', '']]);
}

/**
 * A voltage one of the comparator's latches watches: the reported band and mean over the
 * true value, and the latch's two thresholds (the one that sets it, turning the charger
 * ON, and the one that releases it) when the firmware reported them.
 */
function drawLatchVoltage(
  canvas: ChartCanvas, p: Panel, series: { measured: SeriesName; truth: SeriesName; color: string; band: string },
  setAt: [number, string] | null, releasedAt: [number, string] | null,
): void {
  canvas.band(p, series.measured, series.band);
  canvas.line(p, series.truth, COLORS.truth, 1.2, '5 3');
  canvas.line(p, series.measured, series.color, 1.6);
  if (setAt) canvas.thresholdLine(p, setAt[0], COLORS.off, setAt[1]);
  if (releasedAt) canvas.thresholdLine(p, releasedAt[0], COLORS.on, releasedAt[1]);
}

/** The plant's true state of charge, and beside it what an attached estimator believed (the bridge's, under npm run sim). */
function drawSocPanel(canvas: ChartCanvas, p: Panel): void {
  canvas.yAxis(p, '%', 'state of charge', 4);
  const estimated = canvas.data.series.estSoc.n.some((n) => n > 0);
  canvas.line(p, 'soc', COLORS.truth, 1.4, '5 3');
  if (estimated) canvas.line(p, 'estSoc', COLORS.estimate, 1.8);
  canvas.legend(p, estimated
    ? [[COLORS.estimate, 'estimated (the bridge\'s estimator on these readings)', ''], [COLORS.truth, 'true state of charge', '5 3']]
    : [[COLORS.truth, 'true state of charge (no estimator attached)', '5 3']]);
}

function drawCurrentPanel(canvas: ChartCanvas, p: Panel): void {
  canvas.yAxis(p, 'A', 'current');
  const zero = canvas.yOf(p, 0).toFixed(1);
  canvas.out.push(`<line x1="${LEFT}" y1="${zero}" x2="${LEFT + PLOT_WIDTH}" y2="${zero}" stroke="#888" stroke-width="1"/>`);
  canvas.band(p, 'ba', COLORS.batteryBand);
  canvas.line(p, 'trueChargerA', COLORS.charger, 1.4, '5 3');
  canvas.line(p, 'trueSolarA', COLORS.solarA, 1.4, '5 3');
  canvas.line(p, 'la', COLORS.load, 1.4);
  canvas.line(p, 'ba', COLORS.battery, 1.6);
  canvas.legend(p, [[COLORS.battery, 'battery A (+ charging, firmware)', ''], [COLORS.load, 'load A (firmware)', ''],
    [COLORS.charger, 'mains charger output (true)', '5 3'], [COLORS.solarA, 'MP3735 solar output (true)', '5 3']]);
}

/** Panel voltage, with irradiance behind it on its own right-hand axis. */
function drawSolarPanel(canvas: ChartCanvas, p: Panel, thresholds: ChargerThresholds | null): void {
  const out = canvas.out;
  const columns = canvas.columns;
  const irradiance = canvas.data.series.irradiance;
  let irradianceTop = 0;
  for (let b = 0; b < columns; b++) if (irradiance.n[b] > 0 && irradiance.max[b] > irradianceTop) irradianceTop = irradiance.max[b];
  irradianceTop = Math.max(200, Math.ceil(irradianceTop / 200) * 200);
  const yOfIrradiance = (g: number): number => p.top + p.height - g / irradianceTop * p.height;
  let area = `M${LEFT},${p.top + p.height}`;
  for (let b = 0; b < columns; b++) {
    const g = canvas.data.mean('irradiance', b);
    area += `L${canvas.xOfColumn(b).toFixed(1)},${yOfIrradiance(g ?? 0).toFixed(1)}`;
  }
  area += `L${LEFT + PLOT_WIDTH},${p.top + p.height}Z`;
  out.push(`<path d="${area}" fill="${COLORS.irradiance}" stroke="none"/>`);
  canvas.yAxis(p, 'V', 'solar panel');
  for (let g = 0; g <= irradianceTop; g += irradianceTop / 4) {
    out.push(`<text x="${LEFT + PLOT_WIDTH + 6}" y="${(yOfIrradiance(g) + 4).toFixed(1)}" fill="#a08000">${g.toFixed(0)}</text>`);
  }
  out.push(`<text transform="translate(${WIDTH - 22},${p.top + p.height / 2}) rotate(90)" text-anchor="middle" font-size="13" fill="#a08000">irradiance (W/m²)</text>`);
  drawLatchVoltage(canvas, p, { measured: 'sv', truth: 'trueSv', color: COLORS.solarV, band: COLORS.solarBand },
    thresholds && [thresholds.sunDownV, `sun down: charger ON below ${rounded(thresholds.sunDownV, 2)} V`],
    thresholds && [thresholds.sunUpV, `sun up above ${rounded(thresholds.sunUpV, 2)} V`]);
  canvas.legend(p, [[COLORS.solarV, 'panel V (firmware; band = PWM on/off)', ''], [COLORS.truth, 'true panel V', '5 3'], ['#e8d27a', 'irradiance (right axis)', '']]);
}

/** Charger state as a step area, mains outages and load cuts as strips, faults, MCU resets and scripted events. */
function drawChargerPanel(canvas: ChartCanvas, panels: Panels, info: ChartInfo, axisY: number): void {
  const out = canvas.out;
  const p = panels.charger;
  const columns = canvas.columns;
  out.push(`<rect x="${LEFT}" y="${p.top}" width="${PLOT_WIDTH}" height="${p.height}" fill="#fafafa" stroke="${COLORS.axis}"/>`);
  let step = `M${LEFT},${p.top + p.height}`;
  for (let b = 0; b < columns; b++) {
    const v = canvas.data.mean('chg', b);
    const x0 = LEFT + b / columns * PLOT_WIDTH;
    const x1 = LEFT + (b + 1) / columns * PLOT_WIDTH;
    const y = p.top + p.height - (v ?? 0) * (p.height - 16);
    step += `L${x0.toFixed(1)},${y.toFixed(1)}L${x1.toFixed(1)},${y.toFixed(1)}`;
  }
  step += `L${LEFT + PLOT_WIDTH},${p.top + p.height}Z`;
  out.push(`<path d="${step}" fill="${COLORS.on}" fill-opacity="0.55" stroke="${COLORS.on}" stroke-width="1"/>`);
  // Why an ON charger may deliver nothing (mains out), and when the cluster had no power.
  const mainsOut = drawStrips(canvas, 'mainsOut', p.top, p.height, COLORS.mainsOut, 0.35);
  const loadOff = drawStrips(canvas, 'loadOff', p.top + p.height - 7, 7, COLORS.loadOff, 0.9);
  out.push(`<text x="${LEFT - 6}" y="${p.top + 20}" text-anchor="end" fill="${COLORS.axis}">ON</text>`);
  out.push(`<text x="${LEFT - 6}" y="${p.top + p.height}" text-anchor="end" fill="${COLORS.axis}">OFF</text>`);
  out.push(`<text transform="translate(${LEFT - 54},${p.top + p.height / 2}) rotate(-90)" text-anchor="middle" font-size="13" fill="${COLORS.axis}">charger</text>`);
  let faultColumns = 0;
  for (let b = 0; b < columns; b++) {
    if (canvas.data.faults[b] === 0) continue;
    faultColumns++;
    const x = canvas.xOfColumn(b).toFixed(1);
    out.push(`<line x1="${x}" y1="${p.top}" x2="${x}" y2="${p.top + 10}" stroke="${COLORS.fault}" stroke-width="2.5"/>`);
  }
  for (const t of canvas.data.resets) {
    const x = canvas.xOfTime(t).toFixed(1);
    out.push(`<line x1="${x}" y1="${panels.battery.top}" x2="${x}" y2="${p.top + p.height}" stroke="${COLORS.reset}" stroke-width="1.5" stroke-dasharray="3 3"/>`);
    out.push(`<text x="${x}" y="${panels.battery.top - 4}" text-anchor="middle" fill="${COLORS.reset}" font-size="11">MCU reset</text>`);
  }
  drawScriptedEvents(canvas, p, info, axisY);
  const legend: LegendItem[] = [[COLORS.on, 'charger ON (share of each column)', ''], [COLORS.fault, `fault or fail-safe reading${faultColumns ? '' : ' (none)'}`, '']];
  if (mainsOut) legend.push([COLORS.mainsOut, 'mains out (grey)', '']);
  if (loadOff) legend.push([COLORS.loadOff, 'cluster load cut by MP3735', '']);
  if (info.marks.length > 0) legend.push(['#555', 'scripted event (▲ below the axis)', '']);
  canvas.legend(p, legend);
}

/** Rectangles over the columns where a 0/1 series is mostly 1; says whether there were any. */
function drawStrips(canvas: ChartCanvas, name: SeriesName, y: number, height: number, fill: string, opacity: number): boolean {
  const columns = canvas.columns;
  let any = false;
  let start = -1;
  for (let b = 0; b <= columns; b++) {
    const v = b < columns ? canvas.data.mean(name, b) : null;
    const on = v !== null && v >= 0.5;
    if (on && start < 0) start = b;
    if (!on && start >= 0) {
      any = true;
      const x0 = LEFT + start / columns * PLOT_WIDTH;
      canvas.out.push(`<rect x="${x0.toFixed(1)}" y="${y}" width="${((b - start) / columns * PLOT_WIDTH).toFixed(1)}" height="${height}" fill="${fill}" fill-opacity="${opacity}"/>`);
      start = -1;
    }
  }
  return any;
}

/** A marker under the axis per scripted event, and its label when one of three rows has room. */
function drawScriptedEvents(canvas: ChartCanvas, p: Panel, info: ChartInfo, axisY: number): void {
  const out = canvas.out;
  const rowEnd = [-Infinity, -Infinity, -Infinity];
  for (const m of info.marks) {
    const x = canvas.xOfTime(m.t);
    out.push(`<path d="M${x.toFixed(1)},${p.top + p.height + 1}l-4,6h8z" fill="#555"/>`);
    if (m.label === '') continue;
    const width = m.label.length * 6.2;
    const row = rowEnd.findIndex((end) => x - width / 2 > end + 6);
    if (row < 0) continue;
    rowEnd[row] = x + width / 2;
    const y = axisY + 38 + row * 14;
    out.push(`<line x1="${x.toFixed(1)}" y1="${axisY + 24}" x2="${x.toFixed(1)}" y2="${y - 10}" stroke="#999"/>`);
    out.push(`<text x="${x.toFixed(1)}" y="${y}" text-anchor="middle" font-size="11" fill="#333">${escapeXml(m.label)}</text>`);
  }
}
