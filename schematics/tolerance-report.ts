/**
 * Runs the tolerance analysis (schematics/tolerance.ts) and reduces it to spreads,
 * worst-case corners and pass/fail checks; writes the table and an SVG histogram.
 *
 *   npm run schematics:tolerance    writes schematics/tolerance.md and tolerance-histogram.svg
 *
 * Two ngspice runs: the Monte Carlo with the typical board and one-at-a-time
 * sensitivities at both ends of the temperature range; then the worst-case corners,
 * each quantity pushed to ±1 in the direction that moves a trip point its way.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { COMPARATOR_BOARD, ComparatorBoardParts, DEFAULT_THRESHOLDS, LM393_DATASHEET, MAINS_CHARGER, SITE } from '../hardware';
import { RunOptions, runNgspice } from './run-ngspice';
import { REFERENCE_V, RESULT_COLUMNS, ResultColumn, parameters, toleranceNetlist } from './tolerance';
import { escapeXml } from './svg';

export const MONTE_CARLO_RUNS = 500;
export const SEED = 20;
/** How close the typical board must trip to the firmware defaults. */
export const FIRMWARE_MATCH_V = 0.005;

export type Sample = Record<ResultColumn, number>;

export const METRICS = ['fall_b', 'rise_b', 'hyst_b', 'fall_s', 'rise_s', 'hyst_s'] as const;
export type Metric = typeof METRICS[number];
export type Mode = 'untrimmed' | 'trimmed';

/** A trip point or hysteresis of a sample, in volts. */
export function metric(s: Sample, mode: Mode, m: Metric): number {
  const c = m.endsWith('_b') ? 'b' : 's';
  const fall = REFERENCE_V[c] + s[`${mode}_fall_${c}` as ResultColumn] / 1000;
  const rise = REFERENCE_V[c] + s[`${mode}_rise_${c}` as ResultColumn] / 1000;
  return m.startsWith('fall') ? fall : m.startsWith('rise') ? rise : rise - fall;
}

export interface Spread { mean: number; sigma: number; min: number; max: number; worstMin: number; worstMax: number }

export interface ToleranceResult {
  runs: number;
  seed: number;
  typical: Sample;
  samples: Sample[];
  corners: Sample[];
  spreads: Record<Mode, Record<Metric, Spread>>;
  /** Rising trip with the other channel also low, minus alone: REMOTE's current shared. */
  sharedShiftMv: { b: Spread; s: Spread };
  remote: { onMaxV: number; offMinV: number; minLoadOhmsWorst: number };
  runtimeMs: number;
}

async function run(board: ComparatorBoardParts, monteCarlo: number, seed: number, fixed: number[][], opts: RunOptions): Promise<Sample[]> {
  const net = toleranceNetlist(board, { monteCarlo, seed, fixed });
  const cols = (await runNgspice(net, { timeoutMs: 120000, ...opts })).data[net.dataFiles[0]];
  const n = cols.k.length;
  if (n !== monteCarlo + fixed.length) throw new Error(`tolerance analysis wrote ${n} samples, expected ${monteCarlo + fixed.length}`);
  const out: Sample[] = [];
  for (let i = 0; i < n; i++) {
    const s = {} as Sample;
    for (const c of RESULT_COLUMNS) s[c] = cols[c][i];
    out.push(s);
  }
  return out;
}

function stats(xs: number[]): { mean: number; sigma: number; min: number; max: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sigma = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
  return { mean, sigma, min: Math.min(...xs), max: Math.max(...xs) };
}

export async function analyse(
  board: ComparatorBoardParts = COMPARATOR_BOARD, monteCarlo = MONTE_CARLO_RUNS, seed = SEED, opts: RunOptions = {},
): Promise<ToleranceResult> {
  const started = Date.now();
  const params = parameters();
  const np = params.length;
  const zero = (): number[] => new Array<number>(np).fill(0);
  const tIndex = params.findIndex((p) => p.name === 'u_temp');
  // Fixed samples of the first run: the typical board, then at each end of the temperature
  // range a base point and every quantity at +1 alone.
  const fixed: number[][] = [zero()];
  for (const t of [-1, 1]) {
    const base = zero();
    base[tIndex] = t;
    fixed.push(base);
    for (let j = 0; j < np; j++) {
      if (j === tIndex) continue;
      const u = base.slice();
      u[j] = 1;
      fixed.push(u);
    }
  }
  // Two ngspice processes (CI has two cores): half the Monte Carlo each, the second with
  // seed + 1 so the halves are different draws; the fixed samples ride on the second.
  const half = Math.ceil(monteCarlo / 2);
  const [a, b] = await Promise.all([
    run(board, half, seed, [], opts),
    run(board, monteCarlo - half, seed + 1, fixed, opts),
  ]);
  const first = [...a, ...b];
  const samples = first.slice(0, monteCarlo);
  const typical = first[monteCarlo];
  // Corners: at each temperature end, every quantity at ±1 by the sign of its effect.
  const corners: number[][] = [];
  let at = monteCarlo + 1;
  for (const t of [-1, 1]) {
    const base = first[at++];
    const effect: Sample[] = [];
    for (let j = 0; j < np; j++) if (j !== tIndex) effect[j] = first[at++];
    const targets: ((s: Sample) => number)[] = [
      ...(['untrimmed', 'trimmed'] as const).flatMap((mode) => METRICS.map((m) => (s: Sample) => metric(s, mode, m))),
      (s) => Math.max(s.remoteOn_b, s.remoteOn_s),
      (s) => s.remoteOff,
    ];
    for (const f of targets) {
      for (const dir of [-1, 1]) {
        const u = zero();
        u[tIndex] = t;
        for (let j = 0; j < np; j++) {
          if (j === tIndex) continue;
          const d = f(effect[j]) - f(base);
          u[j] = Math.abs(d) < 1e-12 ? 0 : Math.sign(d) * dir;
        }
        corners.push(u);
      }
    }
  }
  const split = Math.ceil(corners.length / 2);
  const cornerSamples = (await Promise.all([
    run(board, 0, seed, corners.slice(0, split), opts), run(board, 0, seed, corners.slice(split), opts),
  ])).flat();
  const spreads = {} as Record<Mode, Record<Metric, Spread>>;
  for (const mode of ['untrimmed', 'trimmed'] as const) {
    spreads[mode] = {} as Record<Metric, Spread>;
    for (const m of METRICS) {
      const all = [...samples, ...cornerSamples].map((s) => metric(s, mode, m));
      spreads[mode][m] = { ...stats(samples.map((s) => metric(s, mode, m))), worstMin: Math.min(...all), worstMax: Math.max(...all) };
    }
  }
  const shared = (c: 'b' | 's'): Spread => {
    const xs = samples.map((s) => s[`trimmed_riseShared_${c}`] - s[`trimmed_rise_${c}`]);
    const all = [...xs, ...cornerSamples.map((s) => s[`trimmed_riseShared_${c}`] - s[`trimmed_rise_${c}`])];
    return { ...stats(xs), worstMin: Math.min(...all), worstMax: Math.max(...all) };
  };
  const everything = [...samples, ...cornerSamples];
  return {
    runs: monteCarlo,
    seed,
    typical,
    samples,
    corners: cornerSamples,
    spreads,
    sharedShiftMv: { b: shared('b'), s: shared('s') },
    remote: {
      onMaxV: Math.max(...everything.map((s) => Math.max(s.remoteOn_b, s.remoteOn_s, s.remoteOnShared))),
      offMinV: Math.min(...everything.map((s) => s.remoteOff)),
      minLoadOhmsWorst: Math.max(...everything.map((s) => s.minLoadOhms)),
    },
    runtimeMs: Date.now() - started,
  };
}

/** What the design must meet whatever the parts do; a list of failures, empty when it passes. */
export function checks(r: ToleranceResult): string[] {
  const fail: string[] = [];
  const t = r.typical;
  const typicalV: Record<string, [number, number]> = {
    batteryOnV: [metric(t, 'trimmed', 'fall_b'), DEFAULT_THRESHOLDS.batteryOnV],
    batteryOffV: [metric(t, 'trimmed', 'rise_b'), DEFAULT_THRESHOLDS.batteryOffV],
    sunDownV: [metric(t, 'trimmed', 'fall_s'), DEFAULT_THRESHOLDS.sunDownV],
    sunUpV: [metric(t, 'trimmed', 'rise_s'), DEFAULT_THRESHOLDS.sunUpV],
  };
  for (const [k, [sim, fw]] of Object.entries(typicalV)) {
    if (Math.abs(sim - fw) > FIRMWARE_MATCH_V) fail.push(`typical board ${k} ${sim.toFixed(4)} V differs from the firmware default ${fw.toFixed(4)} V by more than ${FIRMWARE_MATCH_V * 1000} mV`);
  }
  for (const s of [...r.samples, ...r.corners]) {
    for (const w of [s.wiper_b, s.wiper_s]) if (!(w > 0 && w < 1)) { fail.push(`a trim needs wiper ${w}, outside its pot`); break; }
  }
  // The decision happens with IN+ = IN− ≈ the reference: that must be inside the LM393's
  // full-temperature common-mode range (VCC − 2 V) on every board.
  for (const s of [...r.samples, ...r.corners]) {
    const limit = s.vcc - LM393_DATASHEET.commonModeHeadroomFullRangeV;
    if (s.vref > limit) { fail.push(`the reference reaches ${s.vref.toFixed(3)} V, above the common-mode limit ${limit.toFixed(3)} V`); break; }
  }
  const rb = r.spreads.trimmed.rise_b;
  if (rb.worstMax >= MAINS_CHARGER.chargeV) fail.push(`trimmed battery release reaches ${rb.worstMax.toFixed(3)} V, not below the charger's ${MAINS_CHARGER.chargeV} V`);
  for (const c of ['b', 's'] as const) {
    const h = r.spreads.trimmed[`hyst_${c}`];
    if (h.worstMin < 1) fail.push(`${c === 'b' ? 'battery' : 'sun'} hysteresis falls to ${h.worstMin.toFixed(3)} V`);
  }
  if (r.remote.onMaxV >= MAINS_CHARGER.remoteOnBelowV) fail.push(`REMOTE ON level reaches ${r.remote.onMaxV.toFixed(3)} V, not below ${MAINS_CHARGER.remoteOnBelowV} V`);
  if (r.remote.offMinV <= MAINS_CHARGER.remoteOffAboveV) fail.push(`REMOTE OFF level falls to ${r.remote.offMinV.toFixed(3)} V, not above ${MAINS_CHARGER.remoteOffAboveV} V`);
  return fail;
}

const NAMES: Record<Metric, string> = {
  fall_b: 'battery falling (charger ON)', rise_b: 'battery rising (released)', hyst_b: 'battery hysteresis',
  fall_s: 'panel falling (charger ON)', rise_s: 'panel rising (released)', hyst_s: 'panel hysteresis',
};

export interface MetricSummary { typical: number; sigma3Mv: number; worstLowMv: number; worstHighMv: number }

/** The figures the docs quote, rounded as they print them (committed as tolerance-summary.json). */
export interface ToleranceSummary {
  runs: number;
  seed: number;
  corners: number;
  shedC: [number, number];
  metrics: Record<string, MetricSummary>;
  /** Rising trip with the other channel also low, minus alone (mV): mean and worst. */
  sharedShiftMv: { battery: number; batteryWorst: number; sun: number; sunWorst: number };
  remote: { onMaxV: number; offMinV: number; minLoadKohm: number };
}

export function summary(r: ToleranceResult): ToleranceSummary {
  const round = (x: number, d: number): number => Number(x.toFixed(d));
  const metrics: Record<string, MetricSummary> = {};
  for (const mode of ['untrimmed', 'trimmed'] as const) {
    for (const m of METRICS) {
      const s = r.spreads[mode][m];
      const typ = metric(r.typical, 'trimmed', m);
      metrics[`${mode}.${m}`] = {
        typical: round(typ, 3), sigma3Mv: round(3 * s.sigma * 1000, 0),
        worstLowMv: round((s.worstMin - typ) * 1000, 0), worstHighMv: round((s.worstMax - typ) * 1000, 0),
      };
    }
  }
  return {
    runs: r.runs, seed: r.seed, corners: r.corners.length, shedC: [SITE.shedMinC, SITE.shedMaxC], metrics,
    sharedShiftMv: {
      battery: round(r.sharedShiftMv.b.mean, 0), batteryWorst: round(r.sharedShiftMv.b.worstMax, 0),
      sun: round(r.sharedShiftMv.s.mean, 0), sunWorst: round(r.sharedShiftMv.s.worstMax, 0),
    },
    remote: { onMaxV: round(r.remote.onMaxV, 2), offMinV: round(r.remote.offMinV, 2), minLoadKohm: round(r.remote.minLoadOhmsWorst / 1000, 1) },
  };
}

const signed = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x)}`;

/** The spreads as Markdown, from the summary: what README.md and WIRING.md carry between their markers. */
export function toleranceTable(s: ToleranceSummary): string {
  const lines = [
    `${s.runs} Monte Carlo runs (ngspice, two processes seeded ${s.seed} and ${s.seed + 1}) and ${s.corners} worst-case corners, shed ${s.shedC[0]}–${s.shedC[1]} °C; typical = every part typical at 25 °C. Worst case is the extreme over the runs and the corners.`,
    '',
    '| quantity | typical | untrimmed 3σ | untrimmed worst case | trimmed 3σ | trimmed worst case |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const m of METRICS) {
    const u = s.metrics[`untrimmed.${m}`];
    const t = s.metrics[`trimmed.${m}`];
    lines.push(`| ${NAMES[m]} | ${t.typical.toFixed(3)} V | ±${u.sigma3Mv} mV | ${signed(u.worstLowMv)} / ${signed(u.worstHighMv)} mV | ±${t.sigma3Mv} mV | ${signed(t.worstLowMv)} / ${signed(t.worstHighMv)} mV |`);
  }
  lines.push(
    '',
    `A rising trip sits ${s.sharedShiftMv.battery} mV (battery) and ${s.sharedShiftMv.sun} mV (panel) higher on average while the other channel is low too, ${s.sharedShiftMv.batteryWorst} and ${s.sharedShiftMv.sunWorst} mV at worst: the two outputs then share REMOTE's current.`,
    `REMOTE: ON level at most ${s.remote.onMaxV.toFixed(2)} V (the charger needs < ${MAINS_CHARGER.remoteOnBelowV} V); OFF level at least ${s.remote.offMinV.toFixed(2)} V into the assumed 100 kΩ (needs > ${MAINS_CHARGER.remoteOffAboveV} V), and above ${MAINS_CHARGER.remoteOffAboveV} V into any REMOTE input of at least ${s.remote.minLoadKohm} kΩ.`,
  );
  return lines.join('\n');
}

/** Histogram of the trimmed and untrimmed trip points, one panel per trip. */
export function histogramSvg(r: ToleranceResult): string {
  const panels: Metric[] = ['fall_b', 'rise_b', 'fall_s', 'rise_s'];
  const w = 420;
  const h = 170;
  const bins = 40;
  const parts: string[] = [];
  panels.forEach((m, p) => {
    const x0 = (p % 2) * w + 40;
    const y0 = Math.floor(p / 2) * (h + 40) + 64;
    const un = r.samples.map((s) => metric(s, 'untrimmed', m));
    const tr = r.samples.map((s) => metric(s, 'trimmed', m));
    const lo = Math.min(...un, ...tr);
    const hi = Math.max(...un, ...tr);
    const width = (hi - lo) / bins || 1e-3;
    const count = (xs: number[]): number[] => {
      const c = new Array<number>(bins).fill(0);
      for (const x of xs) c[Math.min(bins - 1, Math.floor((x - lo) / width))]++;
      return c;
    };
    const cu = count(un);
    const ct = count(tr);
    const top = Math.max(...cu, ...ct);
    const bw = (w - 60) / bins;
    parts.push(`<text x="${x0}" y="${y0 - 8}" font-size="13">${escapeXml(NAMES[m])}</text>`);
    parts.push(`<line x1="${x0}" y1="${y0 + h - 20}" x2="${x0 + w - 60}" y2="${y0 + h - 20}" stroke="#111"/>`);
    for (let i = 0; i < bins; i++) {
      const hu = (cu[i] / top) * (h - 30);
      const ht = (ct[i] / top) * (h - 30);
      const x = (x0 + i * bw).toFixed(1);
      if (hu > 0) parts.push(`<rect x="${x}" y="${(y0 + h - 20 - hu).toFixed(1)}" width="${bw.toFixed(1)}" height="${hu.toFixed(1)}" fill="#9ab6e0"/>`);
      if (ht > 0) parts.push(`<rect x="${x}" y="${(y0 + h - 20 - ht).toFixed(1)}" width="${bw.toFixed(1)}" height="${ht.toFixed(1)}" fill="#c0392b" fill-opacity="0.75"/>`);
    }
    // The typical board's trip, which is the firmware default.
    const typ = metric(r.typical, 'trimmed', m);
    const xt = (x0 + ((typ - lo) / (hi - lo)) * (w - 60)).toFixed(1);
    parts.push(`<line x1="${xt}" y1="${y0}" x2="${xt}" y2="${y0 + h - 20}" stroke="#111" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${xt}" y="${y0 + h - 4}" font-size="11" text-anchor="middle">${typ.toFixed(3)} V</text>`);
    parts.push(`<text x="${x0}" y="${y0 + h - 4}" font-size="11">${lo.toFixed(3)} V</text>`);
    parts.push(`<text x="${x0 + w - 60}" y="${y0 + h - 4}" font-size="11" text-anchor="end">${hi.toFixed(3)} V</text>`);
  });
  const total = 2 * (h + 40) + 74;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * w + 20}" height="${total}" viewBox="0 0 ${2 * w + 20} ${total}" font-family="sans-serif">`,
    '<rect width="100%" height="100%" fill="#fff"/>',
    `<text x="40" y="22" font-size="14" font-weight="bold">Comparator trip points, ${r.runs} Monte Carlo boards (ngspice, seeds ${r.seed} and ${r.seed + 1})</text>`,
    '<text x="40" y="40" font-size="12">blue: untrimmed; red: after the commissioning trim; dashed: the typical board, which is the firmware default</text>',
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

export const BLOCK_START = '<!-- tolerance:start (generated by npm run schematics:tolerance) -->';
export const BLOCK_END = '<!-- tolerance:end -->';

/** The text between the tolerance markers of a document. */
export function blockIn(doc: string, what: string): string {
  const a = doc.indexOf(BLOCK_START);
  const b = doc.indexOf(BLOCK_END);
  if (a < 0 || b < a) throw new Error(`${what} has lost its tolerance-table markers`);
  return doc.slice(a + BLOCK_START.length, b).trim();
}

function withBlock(doc: string, what: string, block: string): string {
  blockIn(doc, what);
  return `${doc.slice(0, doc.indexOf(BLOCK_START) + BLOCK_START.length)}\n${block}\n${doc.slice(doc.indexOf(BLOCK_END))}`;
}

/** Documents that carry the table, relative to the repository root. */
export const DOCS_WITH_TABLE = ['schematics/README.md', 'hardware/WIRING.md'];
export const SUMMARY_FILE = path.join(__dirname, 'tolerance-summary.json');

async function main(): Promise<void> {
  const r = await analyse();
  const failures = checks(r);
  const s = summary(r);
  const table = toleranceTable(s);
  const quantities = [
    '| deviation | kind | ±1 means |', '|---|---|---|',
    ...parameters().map((p) => `| \`${p.name}\` | ${p.kind === 'gauss' ? 'agauss, ±1 = 3σ' : 'aunif, ±1 = bound'} | ${p.meaning} |`),
  ].join('\n');
  writeFileSync(path.join(__dirname, 'tolerance.md'), [
    '# Comparator board tolerance analysis', '',
    'Generated by `npm run schematics:tolerance` (schematics/tolerance-report.ts); how to read it: README.md.', '',
    table, '', `The analysis took ${(r.runtimeMs / 1000).toFixed(1)} s of wall time on the machine that wrote this file.`, '',
    '## What varies', '', quantities, '',
  ].join('\n'));
  writeFileSync(path.join(__dirname, 'tolerance-histogram.svg'), histogramSvg(r));
  writeFileSync(SUMMARY_FILE, `${JSON.stringify(s, null, 1)}\n`);
  for (const doc of DOCS_WITH_TABLE) {
    const file = path.join(__dirname, '..', doc);
    writeFileSync(file, withBlock(readFileSync(file, 'utf8'), doc, table));
  }
  console.log(table);
  console.log(`\nanalysis took ${(r.runtimeMs / 1000).toFixed(1)} s; wrote schematics/tolerance.md, tolerance-histogram.svg, tolerance-summary.json and the tables in ${DOCS_WITH_TABLE.join(', ')}`);
  if (failures.length > 0) {
    console.error(`\nFAILED:\n${failures.join('\n')}`);
    process.exitCode = 1;
  }
}

// ts-run.js (npm run) requires this file with argv[1] set to it; ts-node runs it as main.
if (require.main === module || process.argv[1] === __filename) {
  main().catch((err) => { console.error(err instanceof Error ? err.message : err); process.exitCode = 1; });
}
