/**
 * Simulator speed: the 24 h `day` scenario at a 1 s poll with the firmware bundle in the
 * shim, as `npm run sim` runs it (readings decoded, comparator check, chart data), CSV
 * kept in memory. The goal is under 10 s wall on the 2-core CI machine, i.e. at least
 * 8,640× real time. The first run includes V8 warming up; both are shown, and the plant
 * alone for scale.
 */
import { performance } from 'node:perf_hooks';
import { Plant } from '../../simulator/plant';
import { defaultPlantParams } from '../../simulator/plant-params';
import { Simulation } from '../../simulator/simulation';
import { firmwareBundle } from '../simulator/bundle';
import type { BenchRow } from './bench-row';

const DAY_S = 86400;

function timeDay(): { s: number; readings: number; violations: number } {
  const sim = new Simulation({ scenario: 'day', seed: 1, firmware: firmwareBundle() });
  const t0 = performance.now();
  sim.run();
  const s = (performance.now() - t0) / 1000;
  return { s, readings: sim.frames.R, violations: sim.comparatorResult?.violations ?? -1 };
}

function timePlant(): number {
  const plant = new Plant(defaultPlantParams(), { date: '2025-03-21', startHour: 0 }, 1);
  plant.panelLoadOhm = 112000;
  const t0 = performance.now();
  for (let t = 1; t <= DAY_S; t++) plant.advanceTo(t);
  return (performance.now() - t0) / 1000;
}

export async function run(): Promise<BenchRow[]> {
  const cold = timeDay();
  const warm = timeDay();
  const plant = timePlant();
  const row = (what: string, s: number, readings: string): string =>
    `| ${what} | ${s.toFixed(2)} | ${Math.round(DAY_S / s)}× | ${readings} |`;
  console.log('| 24 h day, 1 s poll | wall s | × real time | readings |');
  console.log('|---|---:|---:|---:|');
  console.log(row('firmware bundle + plant + decoding, first run', cold.s, String(cold.readings)));
  console.log(row('same, second run (JIT warm)', warm.s, String(warm.readings)));
  console.log(row('plant alone (1 s steps)', plant, '-'));
  const ok = cold.s < 10 && cold.violations === 0;
  console.log(`goal: < 10 s wall (≥ 8,640× real time) → ${ok ? 'met' : 'MISSED'} (${cold.violations} comparator violations)`);
  return [{
    what: 'simulator: 24 h day, firmware bundle inside, 1 s poll (first run)',
    value: `${Math.round(DAY_S / cold.s).toLocaleString('en-US')}× real time (${cold.s.toFixed(1)} s)`,
    goal: '≥ 8,640× (a day in < 10 s), no comparator violation',
    met: ok,
  }];
}
