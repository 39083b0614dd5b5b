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
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { COMPARATOR_BOARD, ComparatorBoardParts, DEFAULT_THRESHOLDS, MAINS_CHARGER } from '../hardware';
import { RunOptions, runNgspice } from './run-ngspice';
import { REFERENCE_V, RESULT_COLUMNS, ResultColumn, parameters, toleranceNetlist } from './tolerance';
import { escapeXml } from './svg';

export const MONTE_CARLO_RUNS = 500;
export const SEED = 20;

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
  const first = await run(board, monteCarlo, seed, fixed, opts);
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
  const cornerSamples = await run(board, 0, seed, corners, opts);
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
    if (Math.abs(sim - fw) > 0.005) fail.push(`typical board ${k} ${sim.toFixed(4)} V differs from the firmware default ${fw.toFixed(4)} V by more than 5 mV`);
  }
  for (const s of [...r.samples, ...r.corners]) {
    for (const w of [s.wiper_b, s.wiper_s]) if (!(w > 0 && w < 1)) { fail.push(`a trim needs wiper ${w}, outside its pot`); break; }
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

const mv = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x * 1000).toFixed(0)} mV`;

/** The spreads as Markdown: what the docs quote. */
export function toleranceTable(r: ToleranceResult): string {
  const lines = [
    `${r.runs} Monte Carlo runs (seed ${r.seed}) and ${r.corners.length} worst-case corners, shed ${'0–50'} °C. Typical = all parts typical at 25 °C.`,
    '',
    '| quantity | typical | untrimmed 3σ | untrimmed worst case | trimmed 3σ | trimmed worst case |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const m of METRICS) {
    const u = r.spreads.untrimmed[m];
    const t = r.spreads.trimmed[m];
    const typ = metric(r.typical, 'trimmed', m);
    lines.push(`| ${NAMES[m]} | ${typ.toFixed(3)} V | ±${(3 * u.sigma * 1000).toFixed(0)} mV | ${mv(u.worstMin - typ)} / ${mv(u.worstMax - typ)} | ±${(3 * t.sigma * 1000).toFixed(0)} mV | ${mv(t.worstMin - typ)} / ${mv(t.worstMax - typ)} |`);
  }
  lines.push(
    '',
    `Rising trip with the other channel also low (REMOTE's current shared), minus alone: battery ${mv(r.sharedShiftMv.b.mean / 1000)} (worst ${mv(r.sharedShiftMv.b.worstMax / 1000)}), panel ${mv(r.sharedShiftMv.s.mean / 1000)} (worst ${mv(r.sharedShiftMv.s.worstMax / 1000)}).`,
    `REMOTE: ON level at most ${r.remote.onMaxV.toFixed(3)} V (limit ${MAINS_CHARGER.remoteOnBelowV} V); OFF level at least ${r.remote.offMinV.toFixed(3)} V into the assumed 100 kΩ (limit ${MAINS_CHARGER.remoteOffAboveV} V); OFF stays above ${MAINS_CHARGER.remoteOffAboveV} V only while the charger's input is at least ${(r.remote.minLoadOhmsWorst / 1000).toFixed(1)} kΩ in the worst case.`,
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
    const y0 = Math.floor(p / 2) * (h + 40) + 40;
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
    parts.push(`<text x="${x0}" y="${y0 + h - 4}" font-size="11">${lo.toFixed(3)} V</text>`);
    parts.push(`<text x="${x0 + w - 60}" y="${y0 + h - 4}" font-size="11" text-anchor="end">${hi.toFixed(3)} V</text>`);
  });
  const total = 2 * (h + 40) + 50;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * w + 20}" height="${total}" viewBox="0 0 ${2 * w + 20} ${total}" font-family="sans-serif">`,
    '<rect width="100%" height="100%" fill="#fff"/>',
    `<text x="40" y="22" font-size="14">Comparator trip points, ${r.runs} Monte Carlo runs (seed ${r.seed}): blue untrimmed, red after the commissioning trim</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const r = await analyse();
  const failures = checks(r);
  const table = toleranceTable(r);
  writeFileSync(path.join(__dirname, 'tolerance.md'), `# Comparator board tolerance analysis\n\nGenerated by \`npm run schematics:tolerance\` (schematics/tolerance-report.ts); see README.md.\n\n${table}\n`);
  writeFileSync(path.join(__dirname, 'tolerance-histogram.svg'), histogramSvg(r));
  writeFileSync(path.join(__dirname, 'tolerance-summary.json'), `${JSON.stringify(summary(r), null, 1)}\n`);
  console.log(table);
  console.log(`\nanalysis took ${(r.runtimeMs / 1000).toFixed(1)} s; wrote schematics/tolerance.md, tolerance-histogram.svg, tolerance-summary.json`);
  if (failures.length > 0) {
    console.error(`\nFAILED:\n${failures.join('\n')}`);
    process.exitCode = 1;
  }
}

/** The figures the docs quote, rounded as they print them (committed; a test compares it with a fresh run). */
export function summary(r: ToleranceResult): Record<string, unknown> {
  const round = (x: number, d: number): number => Number(x.toFixed(d));
  const out: Record<string, unknown> = { runs: r.runs, seed: r.seed, corners: r.corners.length };
  for (const mode of ['untrimmed', 'trimmed'] as const) {
    for (const m of METRICS) {
      const s = r.spreads[mode][m];
      const typ = metric(r.typical, 'trimmed', m);
      out[`${mode}.${m}`] = { typical: round(typ, 4), sigma3Mv: round(3 * s.sigma * 1000, 0), worstLowMv: round((s.worstMin - typ) * 1000, 0), worstHighMv: round((s.worstMax - typ) * 1000, 0) };
    }
  }
  out.sharedShiftMv = { b: round(r.sharedShiftMv.b.mean, 1), s: round(r.sharedShiftMv.s.mean, 1) };
  out.remote = { onMaxV: round(r.remote.onMaxV, 3), offMinV: round(r.remote.offMinV, 3), minLoadKohm: round(r.remote.minLoadOhmsWorst / 1000, 1) };
  return out;
}



// ts-run.js (npm run) requires this file with argv[1] set to it; ts-node runs it as main.
if (require.main === module || process.argv[1] === __filename) {
  main().catch((err) => { console.error(err instanceof Error ? err.message : err); process.exitCode = 1; });
}
