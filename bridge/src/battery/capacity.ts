/**
 * Capacity learning. A bank's capacity shows in how far its resting voltage falls for
 * the Ah taken out: between a calibration point early in a steady discharge after a full
 * sync and a point at least learnMinDepth deeper in the same discharge, two loaded
 * voltages and the Ah counted between them fix the capacity through the slope of the
 * resting-voltage table. Solved with the bank's effective resistance in the same pass,
 * so the sag under load, a table that sits a little high or low, and the INA219's
 * bus-voltage gain error largely cancel. A cycle shallower than learnMinDepth, or one
 * broken by a gap, a faulted sensor or a resync, teaches nothing.
 */
import { EstimatorParams, lookup } from './params';

export interface CapacityState {
  /** Counting has been continuous since the last full sync. */
  clean: boolean;
  lastChargeT: number;
  steadySince: number;
  /** Smoothed bus voltage and discharge current (positive amps) of the steady discharge. */
  vAvg: number;
  iAvg: number;
  /** Calibration point: deficit (Ah since full), voltage, current; NaN until taken. */
  calDeficit: number; calV: number; calI: number;
  /** Deepest qualifying point of this discharge. */
  deepDeficit: number; deepV: number; deepI: number;
  /** The averages' weight for the last reading interval (readings come at a fixed period). */
  lastSpan: number;
  lastAlpha: number;
  /** Learned resistance (Ω) from the last solved cycle. */
  rOhm: number;
  /** Depth-weighted sums over learned cycles. */
  weight: number;
  weightedAh: number;
  cycles: number;
  lastCycleAh: number;
}

export function newCapacityState(p: EstimatorParams): CapacityState {
  return {
    clean: false, lastChargeT: -Infinity, steadySince: NaN, vAvg: NaN, iAvg: NaN,
    calDeficit: NaN, calV: NaN, calI: NaN, deepDeficit: NaN, deepV: NaN, deepI: NaN,
    lastSpan: NaN, lastAlpha: 0, rOhm: p.loadedResistanceOhm, weight: 0, weightedAh: 0, cycles: 0, lastCycleAh: NaN,
  };
}

/** A steady discharge must last this long before a point is taken: after a charge the voltage keeps relaxing (surface charge, diffusion) by ≈ 50 mV in the first hour, ≈ 10 mV in the second and
 * still a few in the third, faster than it falls from the charge taken out. */
const STEADY_S = 3 * 3600;
const SINCE_CHARGE_S = 3 * 3600;
/** Short enough that the average's lag on a falling voltage (slope × this) is a few mV at both points. */
const AVERAGE_S = 600;
/** The calibration point must be taken while the counted depth is below this. */
const CAL_MAX_DEPTH = 0.12;
/**
 * The deep point is not taken once the voltage says the bank is below this: there the
 * polarisation of a discharging AGM grows faster than in proportion to the current (acid
 * depletion at the plates), so the loaded voltage reads low and the capacity would come
 * out small. Judged by the voltage, not the count, because the count depends on the
 * capacity being learned.
 */
const DEEP_MIN_SOC = 0.4;

export function learnedCapacityAh(c: CapacityState): number {
  return c.weight > 0 ? c.weightedAh / c.weight : NaN;
}

/** 0..1: grows with the total depth of the cycles learned from (one 40 % cycle ≈ 0.5). */
export function capacityConfidence(c: CapacityState): number {
  return 1 - Math.exp(-c.weight / 0.6);
}

/** After a full sync counting starts clean; a gap, fault or resync spoils the cycle. */
export function capacityOnSync(c: CapacityState): void {
  c.clean = true;
  dropCycle(c);
}

export function capacitySpoilt(c: CapacityState): void {
  c.clean = false;
  dropCycle(c);
}

function dropCycle(c: CapacityState): void {
  c.calDeficit = NaN;
  c.deepDeficit = NaN;
  c.steadySince = NaN;
  c.vAvg = NaN;
}

export function capacityStep(
  c: CapacityState, p: EstimatorParams, t: number, span: number, bv: number, ba: number, deficitAh: number, capacityAh: number,
): void {
  if (ba > p.zeroCurrentA) {
    c.lastChargeT = t;
    finishCycle(c, p);
    return;
  }
  const discharging = ba < -p.zeroCurrentA && -ba <= p.capacityAh / p.ratedHours;
  if (!c.clean || !discharging) {
    c.steadySince = NaN;
    c.vAvg = NaN;
    return;
  }
  if (c.vAvg !== c.vAvg) {
    c.vAvg = bv;
    c.iAvg = -ba;
    c.steadySince = t;
    return;
  }
  if (span !== c.lastSpan) {
    c.lastSpan = span;
    c.lastAlpha = 1 - Math.exp(-span / AVERAGE_S);
  }
  const a = c.lastAlpha;
  c.vAvg += a * (bv - c.vAvg);
  c.iAvg += a * (-ba - c.iAvg);
  if (t - c.steadySince < STEADY_S || t - c.lastChargeT < SINCE_CHARGE_S) return;
  const v = c.vAvg;
  const i = c.iAvg;
  const depth = deficitAh / capacityAh;
  if (c.calDeficit !== c.calDeficit) {
    // The first settled point of the discharge, as near full as it can be.
    if (depth >= CAL_MAX_DEPTH) return;
    c.calDeficit = deficitAh;
    c.calV = v;
    c.calI = i;
  } else if (depth - c.calDeficit / capacityAh >= p.learnMinDepth && lookup(p.ocvTable, v + c.rOhm * i, true) >= DEEP_MIN_SOC) {
    c.deepDeficit = deficitAh;
    c.deepV = v;
    c.deepI = i;
  }
}

/**
 * Solves capacity C and resistance R from the two points: the resting voltage of each,
 * read from the table at 1 − deficit / C, equals the loaded voltage plus R × current.
 * Fixed-point iteration from the nameplate; a solution outside 30–130 % of it is dropped.
 */
function finishCycle(c: CapacityState, p: EstimatorParams): void {
  if (c.deepDeficit !== c.deepDeficit || c.calDeficit !== c.calDeficit) {
    dropCycle(c);
    return;
  }
  let cap = p.capacityAh;
  let r = c.rOhm;
  for (let k = 0; k < 40; k++) {
    r = (lookup(p.ocvTable, 1 - c.calDeficit / cap, false) - c.calV) / c.calI;
    const socDeep = lookup(p.ocvTable, c.deepV + r * c.deepI, true);
    const next = c.deepDeficit / (1 - socDeep);
    if (!(next > 0) || !isFinite(next)) break;
    if (Math.abs(next - cap) < 1e-4) { cap = next; break; }
    cap = next;
  }
  const depth = (c.deepDeficit - c.calDeficit) / cap;
  if (cap > 0.3 * p.capacityAh && cap < 1.3 * p.capacityAh && depth >= p.learnMinDepth * 0.8 && r > 0 && r < 0.5) {
    c.weight += depth;
    c.weightedAh += depth * cap;
    c.cycles++;
    c.lastCycleAh = cap;
    c.rOhm = r;
  }
  dropCycle(c);
}
