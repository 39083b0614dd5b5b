/**
 * The estimator's parameters: the bank and monitor settings from hardware/battery.ts,
 * the site from hardware/system.ts, and the few choices that belong to the estimator
 * itself. Config overrides any of them (capacity and chemistry after fitting new
 * batteries, `battery.type` picks the chemistry's preset); `checkParams` names the first bad one.
 */
import { BatteryMonitorParams, BatteryType, DEFAULT_BATTERY_TYPE, SUN_TIMES_SOURCE, batteryMonitorFor } from '../../../hardware';
import type { SunSite } from './sun';

export interface EstimatorParams extends BatteryMonitorParams {
  site: SunSite;
  /** Readings further apart than this are not integrated from their currents (the MCU's counters still are). */
  maxGapS: number;
  /** Relative error assumed for every Ah counted (shunt gain, Peukert and efficiency misfit): widens the uncertainty. */
  countErrorFraction: number;
  /** Nights of load remembered for the night forecast. */
  nightsRemembered: number;
  /** State of charge to start from when nothing is known (0..1); its uncertainty is the whole range until a sync. */
  startSoc: number;
}

/** hardware/'s parameters for a battery type (the seed's AGM by default), the site, and the estimator's own. */
export function defaultEstimatorParams(type: BatteryType = DEFAULT_BATTERY_TYPE): EstimatorParams {
  return {
    ...batteryMonitorFor(type),
    site: { latitudeDeg: SUN_TIMES_SOURCE.site.latitudeDeg, longitudeDeg: SUN_TIMES_SOURCE.site.longitudeDeg, horizonDeg: SUN_TIMES_SOURCE.horizonDeg },
    // Five missed 1 s polls; beyond that the currents between are unknown.
    maxGapS: 5 * 60,
    // INA219B gain error ≤ 0.5 % over temperature, plus the efficiency and Peukert
    // factors' misfit (a few %): 3 % of the Ah counted.
    countErrorFraction: 0.03,
    nightsRemembered: 3,
    // Like a BMV's "battery starts synchronised": a new installation is usually full.
    startSoc: 1,
  };
}

type Check = [keyof EstimatorParams, (v: number) => boolean, string];

const CHECKS: Check[] = [
  ['capacityAh', (v) => v > 0 && v < 100000, '> 0 Ah'],
  ['ratedHours', (v) => v >= 1 && v <= 100, '1..100 h'],
  ['peukertExponent', (v) => v >= 1 && v <= 1.6, '1..1.6'],
  ['chargeEfficiency', (v) => v >= 0.5 && v <= 1, '0.5..1'],
  ['gassingV', (v) => v > 0 && v < 100, '0..100 V'],
  ['gassingChargeEfficiency', (v) => v >= 0 && v <= 1, '0..1'],
  ['gassingCurrentFraction', (v) => v >= 0 && v <= 1, '0..1 of capacity per hour'],
  ['selfDischargePerMonth', (v) => v >= 0 && v < 0.5, '0..0.5'],
  ['chargedV', (v) => v > 0 && v < 100, '0..100 V'],
  ['tailCurrentFraction', (v) => v > 0 && v <= 0.2, '0..0.2 of capacity per hour'],
  ['chargedDetectionS', (v) => v >= 0 && v <= 86400, '0..86400 s'],
  ['absorptionV', (v) => v > 0 && v < 100, '0..100 V'],
  ['tailSlopeVPerDecade', (v) => v > 0 && v <= 10, '0..10 V'],
  ['chargeTaperSoc', (v) => v >= 0.5 && v <= 1, '0.5..1'],
  ['zeroCurrentA', (v) => v >= 0 && v <= 10, '0..10 A'],
  ['timeToGoAveragingS', (v) => v > 0 && v <= 3600, '0..3600 s'],
  ['floorSoc', (v) => v >= 0 && v < 1, '0..1'],
  ['restCurrentA', (v) => v >= 0, '>= 0 A'],
  ['restS', (v) => v >= 60, '>= 60 s'],
  ['ocvToleranceV', (v) => v >= 0 && v < 1, '0..1 V'],
  ['voltageErrorFraction', (v) => v >= 0 && v < 0.1, '0..0.1'],
  ['maxPlausibleA', (v) => v > 0, '> 0 A'],
  ['learnMinDepth', (v) => v >= 0.1 && v <= 0.9, '0.1..0.9'],
  ['loadedResistanceOhm', (v) => v >= 0 && v < 1, '0..1 Ω'],
  ['maxGapS', (v) => v > 0, '> 0 s'],
  ['countErrorFraction', (v) => v >= 0 && v < 1, '0..1'],
  ['nightsRemembered', (v) => v >= 1 && v <= 30 && v === Math.floor(v), '1..30 nights'],
  ['startSoc', (v) => v >= 0 && v <= 1, '0..1'],
];

/** Throws a RangeError naming the first parameter out of range. */
export function checkParams(p: EstimatorParams): void {
  for (const [key, ok, range] of CHECKS) {
    const v = p[key] as unknown;
    if (typeof v !== 'number' || !ok(v)) throw new RangeError(`battery.${String(key)} must be ${range}, got ${JSON.stringify(v)}`);
  }
  const t = p.ocvTable;
  if (!Array.isArray(t) || t.length < 2) throw new RangeError('battery.ocvTable needs at least two [soc, volts] points');
  for (let i = 1; i < t.length; i++) {
    if (!(t[i][0] > t[i - 1][0]) || !(t[i][1] > t[i - 1][1])) throw new RangeError(`battery.ocvTable must rise in soc and volts (point ${i})`);
  }
}

/** Piecewise-linear lookup in a rising table, clamped at its ends; `inverse` looks x up from y. */
export function lookup(table: ReadonlyArray<readonly [number, number]>, x: number, inverse: boolean): number {
  const a = inverse ? 1 : 0;
  const b = inverse ? 0 : 1;
  const n = table.length;
  if (x <= table[0][a]) return table[0][b];
  if (x >= table[n - 1][a]) return table[n - 1][b];
  let i = 1;
  while (table[i][a] < x) i++;
  const x0 = table[i - 1][a];
  const y0 = table[i - 1][b];
  return y0 + (table[i][b] - y0) * (x - x0) / (table[i][a] - x0);
}
