/**
 * The files a run leaves in --out DIR: readings.csv (streamed by the simulation while it
 * runs), run.json and chart.svg.
 */
import fs from 'node:fs';
import path from 'node:path';
import { renderChart } from './chart';
import type { Simulation } from './simulation';

export const OUTPUT_FILES = { csv: 'readings.csv', json: 'run.json', chart: 'chart.svg' };

export function outputPaths(dir: string): { csv: string; json: string; chart: string } {
  return {
    csv: path.join(dir, OUTPUT_FILES.csv),
    json: path.join(dir, OUTPUT_FILES.json),
    chart: path.join(dir, OUTPUT_FILES.chart),
  };
}

/** A short label for a scripted action, or '' for the ones not worth a label (ends, gets). */
function markLabel(what: string): string {
  if (what.endsWith(' ends') || what === 'mains back' || what.startsWith('get settings')) return '';
  return what
    .replace(/^ina-nack (\w+) for (\d+) s$/, '$1 INA219 NACK $2 s')
    .replace(/^ina-reset (\w+)$/, '$1 INA219 reset')
    .replace(/^ina-freeze (\w+) for (\d+) s$/, '$1 ADC hung $2 s')
    .replace(/^bus-stuck for (\d+) s$/, 'I2C bus stuck $1 s')
    .replace(/^mains-outage for (\d+) s$/, (_m, s: string) => `mains out ${Number(s) >= 3600 ? (Number(s) / 3600).toFixed(1).replace(/\.0$/, '') + ' h' : Math.round(Number(s) / 60) + ' min'}`)
    .replace(/^mcu-hang for (\d+) s$/, 'MCU hangs $1 s')
    .replace(/^storage-fail for (\d+) s$/, 'flash writes fail $1 s');
}

export function chartSvg(sim: Simulation): string {
  const th = sim.thresholds;
  const cmp = sim.comparatorResult;
  const site = sim.params.site;
  const lat = `${Math.abs(site.latitudeDeg).toFixed(1)}°${site.latitudeDeg < 0 ? 'S' : 'N'}`;
  const checked = cmp
    ? `comparator check against the plant's true values: ${cmp.violations} violation${cmp.violations === 1 ? '' : 's'} in ${cmp.checked} polls`
    : 'comparator check: the firmware reported no thresholds';
  return renderChart(sim.chart, {
    title: `Simulated run "${sim.scenario.name}" · seed ${sim.seed} · ${site.name} (${lat}) · ${sim.scenario.date} · ${(sim.endS / 3600).toFixed(0)} h`,
    subtitle: [
      sim.scenario.description,
      `${sim.chart.rows} readings at ${sim.settingsHistory[0]?.pollPeriodS ?? '?'} s, ${sim.mcu.resets.length} MCU reset${sim.mcu.resets.length === 1 ? '' : 's'}; ${checked}.`,
    ],
    thresholds: th,
    loadDisconnectV: sim.params.controller.loadDisconnectV,
    date: sim.scenario.date,
    startHour: sim.scenario.startHour,
    utcOffsetH: site.utcOffsetH,
    marks: sim.actions.filter((a) => !a.what.startsWith('get settings')).map((a) => ({ t: a.t, label: markLabel(a.what) })),
  });
}

/** Writes run.json and chart.svg (readings.csv is already written when csvPath was given). */
export function writeOutputs(sim: Simulation, dir: string, extra: Record<string, unknown> = {}): void {
  const paths = outputPaths(dir);
  fs.writeFileSync(paths.json, JSON.stringify({ ...sim.summary(), ...extra }, null, 2) + '\n');
  fs.writeFileSync(paths.chart, chartSvg(sim));
}
