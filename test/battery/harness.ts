/**
 * Runs the built firmware bundle in the simulator and feeds its decoded reading frames,
 * with their times, to the battery estimator: the path production takes (MCU → frames
 * → bridge), judged against the plant's true battery.
 *
 * The firmware is told to poll every POLL_S = 20 s instead of its default 1 s (a `set
 * period` command, as a host would send). At 1 s a simulated day costs ≈ 8 s on this
 * shared 2-core machine (measured: the `day` scenario, 86,400 frames, 8.2 s), so the
 * 14-day × 3, 10-day and 2-day runs here (≈ 54 days) would take over 7 minutes; at 20 s
 * they take 2–4 minutes depending on the other jobs (the plant still steps every second,
 * ≈ 0.6 s a day, and is then the larger share). The frames are the ones the firmware
 * sends at any period, decoded as the bridge decodes them; the MCU integrates its energy
 * counters at its poll, so only the time resolution changes (the 3 min full-charge
 * detection still spans 9 readings).
 */
import { SITE } from '../../hardware';
import {
  BatteryState, EstimatorParams, batteryStep, capacityInUse, defaultEstimatorParams, newBatteryState, stateOfCharge,
} from '../../bridge/src';
import type { SensorGrade } from '../../simulator/ina219-model';
import type { PlantParams } from '../../simulator/plant-params';
import type { ScenarioEvent } from '../../simulator/scenarios';
import type { ReadingRow } from '../../simulator/reading-row';
import { Simulation } from '../../simulator/simulation';
import { firmwareBundle } from '../simulator/bundle';

export const POLL_S = 20;
export const H = 3600;

export interface RunSpec {
  date: string;
  startHour: number;
  hours: number;
  seed: number;
  /** The INA219s' error grade (default: drawn within the datasheet's limits). */
  sensorGrade?: SensorGrade;
  plant?: (p: PlantParams) => void;
  events?: ScenarioEvent[];
  /** Called with the simulation before it starts and then at each whole hour (power cuts). */
  onHour?: (sim: Simulation, hour: number) => void;
}

export function simulate(spec: RunSpec): Simulation {
  const sim = new Simulation({
    scenario: {
      name: 'battery-test', description: 'battery estimator test run', date: spec.date, startHour: spec.startHour, hours: spec.hours,
      plant: spec.plant,
      events: [{ atHour: 0.5 / 3600, action: { kind: 'command', command: { cmd: 'set', period: POLL_S } } }, ...(spec.events ?? [])],
    },
    seed: spec.seed, sensorGrade: spec.sensorGrade, firmware: firmwareBundle(), keepRows: true, chartPoints: 10,
  });
  for (let h = 1; h <= spec.hours; h++) {
    sim.runUntil(h * H);
    spec.onHour?.(sim, h);
  }
  sim.finish();
  return sim;
}

/** Unix seconds of the simulation's t = 0 (its local date and hour at the site's UTC offset). */
export function epochOf(spec: RunSpec): number {
  return Date.UTC(+spec.date.slice(0, 4), +spec.date.slice(5, 7) - 1, +spec.date.slice(8, 10)) / 1000 + (spec.startHour - SITE.utcOffsetH) * H;
}

export interface Trace {
  t: number[];
  est: number[];
  low: number[];
  high: number[];
  truth: number[];
}

/** Feeds every row to a fresh estimator; returns it with the SoC trace beside the truth. */
export function replay(rows: ReadingRow[], epoch: number, params: EstimatorParams = defaultEstimatorParams(),
  onRow?: (s: BatteryState, row: ReadingRow, i: number) => void): { state: BatteryState; trace: Trace } {
  const state = newBatteryState(params);
  const trace: Trace = { t: [], est: [], low: [], high: [], truth: [] };
  rows.forEach((row, i) => {
    batteryStep(state, params, row, epoch + row.t);
    trace.t.push(row.t);
    trace.est.push(stateOfCharge(state, params));
    const c = capacityInUse(state, params);
    trace.low.push(Math.max(0, 1 - state.highAh / c));
    trace.high.push(Math.max(0, 1 - state.lowAh / c));
    trace.truth.push(row.trueSoc);
    onRow?.(state, row, i);
  });
  return { state, trace };
}
