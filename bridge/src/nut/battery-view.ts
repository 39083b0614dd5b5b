/**
 * What the NUT server needs to know about the battery beyond the raw reading: charge,
 * runtime and health. The battery-state estimator (coulomb counting, learned capacity)
 * supplies them through BatteryStateSource (battery-derived.ts reads its derived values);
 * without it, or while it has nothing fresh, they are derived from one reading's voltage
 * and load with the limits stated in bridge/NUT.md. Pure.
 */
import { BATTERY_BANK } from '../../../hardware';
import type { ReadingFrame } from '../../../protocol';

export interface BatteryState {
  /** State of charge, percent 0..100; null when unknown. */
  chargePct: number | null;
  /** Seconds to empty at the present discharge (or the load, if it is not discharging); null when unknown. */
  runtimeS: number | null;
  /** The learned health says the bank should be replaced (NUT's RB). */
  replace: boolean;
  /** Learned capacity (Ah); absent = the nameplate (BANK_AH). */
  capacityAh?: number;
  /** Where the figures came from, published as driver.parameter.battery_state. */
  source: 'estimator' | 'voltage';
}

/** The battery estimator's view, as the NUT feature consumes it. */
export interface BatteryStateSource {
  /** The estimate for this reading (the newest), or null while it has none fresh. */
  current(r: ReadingFrame): BatteryState | null;
}

/**
 * Assumed resting-voltage curve of a 12 V AGM bank at 25 °C (volts, percent), the
 * usual published shape: 12.8 V full, 12.3 V half. 0 % is put at the firmware's
 * floor-voltage neighbourhood so an empty reading and a floor LB agree.
 */
const REST_CURVE: ReadonlyArray<readonly [number, number]> = [
  [11.80, 0], [12.05, 25], [12.30, 50], [12.55, 75], [12.80, 100],
];

/** Battery current (A) below which it counts as neither charging nor discharging. */
export const IDLE_A = 0.1;

/** Nominal bank capacity at the 20-hour rate (Ah), from hardware/. */
export const BANK_AH = BATTERY_BANK.count * BATTERY_BANK.ahEach;

export function chargeFromVoltage(v: number): number {
  const c = REST_CURVE;
  if (v <= c[0][0]) return 0;
  if (v >= c[c.length - 1][0]) return 100;
  for (let i = 1; i < c.length; i++) {
    if (v <= c[i][0]) {
      const [v0, p0] = c[i - 1];
      const [v1, p1] = c[i];
      return p0 + (p1 - p0) * (v - v0) / (v1 - v0);
    }
  }
  return 100;
}

/**
 * Charge from the terminal voltage and runtime from that charge over the present draw.
 * While charging the terminal voltage sits above rest, so this reads high (100 %) until
 * the charging stops; under a heavy discharge it reads low. Both are why the estimator
 * replaces it.
 */
export function estimateFromVoltage(r: ReadingFrame, capacityAh = BANK_AH): BatteryState {
  if (r.bv === null) return { chargePct: null, runtimeS: null, replace: false, source: 'voltage' };
  const chargePct = chargeFromVoltage(r.bv);
  return { chargePct, runtimeS: runtimeFromCharge(r, chargePct, capacityAh), replace: false, source: 'voltage' };
}

/** Seconds for `chargePct` of `capacityAh` at the present draw (the discharge, else the load); null when nothing draws. */
export function runtimeFromCharge(r: ReadingFrame, chargePct: number, capacityAh: number): number | null {
  const drawA = r.ba !== null && r.ba < -IDLE_A ? -r.ba : r.la;
  return drawA !== null && drawA > IDLE_A ? Math.round(chargePct / 100 * capacityAh / drawA * 3600) : null;
}
